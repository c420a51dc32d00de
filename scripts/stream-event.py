#!/usr/bin/env python3
"""Reads a DynamoDB table's stream, every shard from its trim horizon, and prints it as
the event a Lambda event source mapping delivers: {"Records": [...]}, each record's
"dynamodb" part as GetRecords gives it (DynamoDB JSON: {"S": ...}).

Used by the search indexer's test against moto: the records the indexer meets are the
stream's own, read through the DynamoDB Streams API, not made up by the test.

usage: stream-event.py ENDPOINT REGION TABLE [SKIP]
  SKIP: how many records (oldest first) to leave out, the ones an earlier batch had.
"""

import json
import sys

import boto3


def main() -> None:
    endpoint, region, table = sys.argv[1:4]
    skip = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    args = dict(
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ddb = boto3.client("dynamodb", **args)
    streams = boto3.client("dynamodbstreams", **args)
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    records = []
    for shard in shards:
        it = streams.get_shard_iterator(
            StreamArn=arn,
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        while it:
            out = streams.get_records(ShardIterator=it, Limit=1000)
            records.extend(out["Records"])
            if not out["Records"]:
                break
            it = out.get("NextShardIterator")
    records.sort(key=lambda r: int(r["dynamodb"]["SequenceNumber"]))
    event = {
        "Records": [
            {
                "eventID": r["eventID"],
                "eventName": r["eventName"],
                "eventVersion": r.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": r["dynamodb"],
                "eventSourceARN": arn,
            }
            for r in records[skip:]
        ]
    }
    print(json.dumps(event, default=str))


if __name__ == "__main__":
    main()
