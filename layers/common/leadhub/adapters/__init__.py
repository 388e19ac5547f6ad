"""The only modules that talk to AWS (boto3) or HTTP; everything else takes their ports."""
