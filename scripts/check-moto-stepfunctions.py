#!/usr/bin/env python3
"""Runs statemachines/document-pipeline.asl.json on moto's Step Functions engine (a second
engine besides medidocs-states): the definition is created with its DefinitionSubstitutions
pointing at stub Lambda functions whose answers are queued in call order and at moto's SQS
queues for OCR, and one document is taken down the main path (Inspect, Plan, a two-page Map
whose pages wait in the OCR queue until this script answers their task tokens, as the OCR
worker does, and Finalize).

Usage: check-moto-stepfunctions.py ENDPOINT   (a running moto_server, e.g. http://127.0.0.1:5000)
"""

import io
import json
import sys
import threading
import time
import urllib.request
import zipfile

import boto3

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STEPS = {
    "InspectFunction": "inspect",
    "LinkDuplicateFunction": "link-duplicate",
    "PlanFunction": "plan",
    "RenderPageFunction": "render-page",
    "FinalizeFunction": "finalize",
    "RejectFunction": "reject",
    "FailFunction": "fail",
}


def post(endpoint, path, body):
    req = urllib.request.Request(
        endpoint + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req).read()


def main(endpoint):
    post(
        endpoint,
        "/moto-api/config",
        {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
    )
    kw = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam, lam, sfn, sqs = (
        boto3.client(s, **kw) for s in ("iam", "lambda", "stepfunctions", "sqs")
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="medidocs-check", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    definition = open("statemachines/document-pipeline.asl.json").read()
    for name, step in STEPS.items():
        arn = lam.create_function(
            FunctionName=f"medidocs-{step}",
            Runtime="provided.al2023",
            Role=role,
            Handler="bootstrap",
            Code={"ZipFile": code.getvalue()},
            Architectures=["arm64"],
        )["FunctionArn"]
        definition = definition.replace("${" + name + "}", arn)
    queues = {
        p: sqs.create_queue(QueueName=f"medidocs-ocr-{p}")["QueueUrl"]
        for p in ("interactive", "bulk")
    }
    definition = definition.replace(
        "${OcrQueueUrl}", queues["interactive"].removesuffix("-interactive")
    )
    machine = sfn.create_state_machine(
        name="medidocs-document-pipeline",
        definition=definition,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/medidocs-check",
    )["stateMachineArn"]

    # The stub functions' answers, in call order: the pages' answers are discarded by the
    # definition (ResultPath null), so their order does not matter.
    inspect = {
        "document_id": "0a1b2c3d4e5f",
        "next": "process",
        "mime": "application/pdf",
        "source_key": "uploads/p-1/u/original",
        "source_version": "v1",
        "priority": "interactive",
    }
    results = [inspect, {"pages": 2}, {}, {}, {"status": "READY"}]
    post(
        endpoint,
        "/moto-api/static/lambda-simple/response",
        {"account_id": ACCOUNT, "region": REGION, "results": [json.dumps(r) for r in results]},
    )
    started = sfn.start_execution(
        stateMachineArn=machine,
        name="doc-0a1b2c3d4e5f",
        input=json.dumps({"bucket": "uploads", "key": "uploads/p-1/u/original", "version": "v1"}),
    )
    # The OCR worker's part: each page in the queue is answered with its task token.
    answered, pages_seen, versions_seen = threading.Event(), [], []

    def worker():
        while not answered.is_set():
            got = sqs.receive_message(
                QueueUrl=queues["interactive"], MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for m in got.get("Messages", []):
                body = json.loads(m["Body"])
                pages_seen.append(body["page"])
                versions_seen.append(body.get("source_version"))
                sfn.send_task_success(
                    taskToken=body["task_token"],
                    output=json.dumps({"page": body["page"], "words": 3}),
                )
                sqs.delete_message(QueueUrl=queues["interactive"], ReceiptHandle=m["ReceiptHandle"])

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    deadline = time.time() + 60
    while True:
        ex = sfn.describe_execution(executionArn=started["executionArn"])
        if ex["status"] != "RUNNING" or time.time() > deadline:
            break
        time.sleep(0.2)
    answered.set()
    t.join()
    history = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=1000)[
        "events"
    ]
    if ex["status"] != "SUCCEEDED":
        print(json.dumps(history, indent=1, default=str)[-4000:], file=sys.stderr)
        sys.exit(f"the execution ended {ex['status']}, not SUCCEEDED")
    output = json.loads(ex["output"])
    tasks = [e for e in history if e["type"] in ("TaskScheduled", "LambdaFunctionScheduled")]
    if output.get("result") != {"status": "READY"} or output.get("pages", {}).get("numbers") != [1, 2]:
        sys.exit(f"unexpected output: {output}")
    if len(tasks) != 7:
        sys.exit(f"{len(tasks)} tasks, expected 7 (inspect, plan, 2 x (render, OCR queue), finalize)")
    if sorted(pages_seen) != [1, 2]:
        sys.exit(f"the OCR queue carried pages {pages_seen}, expected 1 and 2")
    if versions_seen != ["v1", "v1"]:
        sys.exit(f"the pages read versions {versions_seen}, expected the upload's version v1")
    print(
        f"moto's Step Functions engine ran the document pipeline: SUCCEEDED, {len(tasks)} tasks "
        f"(2 pages through the OCR queue, answered by task token), {len(history)} events"
    )


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    finally:
        # Back to moto's default, for the tests that share this server: with execution on,
        # moto 5.1 fails an idempotent repeated StartExecution (a deepcopy of a lock).
        post(sys.argv[1], "/moto-api/config", {"stepfunctions": {"execute_state_machine": False}})
