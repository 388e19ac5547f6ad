"""`python -m local.redrive` against moto: a dead-letter queue's messages go back to the queue whose
redrive policy names it, FIFO groups kept; a queue that is nobody's dead-letter queue is refused."""

from __future__ import annotations

import pytest

from local.redrive import RedriveError, move_back
from local.running import UnknownQueue, queue_url
from tests.integration.conftest import Stack, shared_clients


def test_messages_go_back_to_the_queue_the_dlq_serves_with_their_group(stack: Stack) -> None:
    sqs = shared_clients().client("sqs")
    dlq, source = queue_url(sqs, "ConversationDLQ"), queue_url(sqs, "ConversationQueue")
    for n, group in enumerate(("conv_a", "conv_b", "conv_a")):
        sqs.send_message(
            QueueUrl=dlq, MessageBody=f'{{"n": {n}}}', MessageGroupId=group, MessageDeduplicationId=str(n)
        )

    assert move_back(sqs, dlq) == (3, source)

    back = sqs.receive_message(
        QueueUrl=source, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]
    assert sorted((m["Body"], m["Attributes"]["MessageGroupId"]) for m in back) == [
        ('{"n": 0}', "conv_a"),
        ('{"n": 1}', "conv_b"),
        ('{"n": 2}', "conv_a"),
    ]
    assert sqs.receive_message(QueueUrl=dlq).get("Messages", []) == []


def test_a_queue_that_is_no_dead_letter_queue_or_unknown_is_refused(stack: Stack) -> None:
    sqs = shared_clients().client("sqs")
    with pytest.raises(RedriveError, match="of 0 queues"):
        move_back(sqs, queue_url(sqs, "FanoutFailureQueue"))  # Lambda's failure destination
    with pytest.raises(UnknownQueue, match="no queue NoSuchQueue"):
        queue_url(sqs, "NoSuchQueue")
