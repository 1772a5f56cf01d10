#!/bin/bash
# tests/fault/session.sh: the session workload for 20 s under kill -9,
# pauses and partitions on a 3-node cluster (tests/fault/run.sh), with
# clients that stop their keepalives for 1.5 TTL themselves, judged by
# check_session.py.
exec bash "$(dirname "$0")/run.sh" session --duration 20
