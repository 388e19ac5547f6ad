"""Cold-start *floor*: the least a handler can do to make the lead webhook's first DynamoDB call
(GetItem of the webhook token) - import boto3, create the one client, call it."""

import hashlib
import json
import os

import boto3

dynamodb = boto3.client("dynamodb")
TABLE_NAME = os.environ["TABLE_NAME"]


def lambda_handler(event, context):
    token_hash = hashlib.sha256(event["pathParameters"]["token"].encode()).hexdigest()
    result = dynamodb.get_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"WEBHOOKTOKEN#{token_hash}"}, "sk": {"S": "WEBHOOKTOKEN"}},
        ConsistentRead=True,
    )
    found = "Item" in result
    return {"statusCode": 200 if found else 404, "body": json.dumps({"found": found})}
