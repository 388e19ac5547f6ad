"""Cold-start *idiom*: the same GetItem written the way `sam init` writes a Powertools handler
(python3.13 hello-pt: Logger, Tracer, Metrics, APIGatewayRestResolver) with validation enabled and a
boto3 DynamoDB resource."""

import hashlib
import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

app = APIGatewayRestResolver(enable_validation=True)
tracer = Tracer()
logger = Logger()
metrics = Metrics()
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


@app.get("/webhook-tokens/<token>")
@tracer.capture_method
def get_webhook_token(token: str) -> dict:
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    response = table.get_item(
        Key={"pk": f"WEBHOOKTOKEN#{token_hash}", "sk": "WEBHOOKTOKEN"}, ConsistentRead=True
    )
    metrics.add_metric(name="TokenLookups", unit=MetricUnit.Count, value=1)
    logger.info("token looked up")
    return {"found": "Item" in response}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
