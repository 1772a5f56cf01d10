#!/bin/bash
# tests/fault/job.sh: the job queue workload for 20 s under kill -9,
# pauses and partitions on a 3-node cluster (tests/fault/run.sh), with
# workers that pause past their TTL holding a claim themselves, judged by
# check_job.py.
exec bash "$(dirname "$0")/run.sh" job --duration 20
