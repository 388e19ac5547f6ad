"""The only modules that talk to AWS (botocore) or HTTP; everything else takes their ports."""
