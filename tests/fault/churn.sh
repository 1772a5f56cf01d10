#!/bin/bash
# tests/fault/churn.sh: the session workload for 16 s on a 3-node
# cluster whose leadership is transferred every 300-500 ms (election
# timeout 500 ms; tests/fault/run.sh churn), the churn the only fault,
# with one client hold in five a stop of its keepalives for 1.5 TTL,
# judged by check_session.py: stopped clients' sessions end within 2
# election timeouts of their deadline, live ones never end.
exec bash "$(dirname "$0")/run.sh" churn --duration 16 --nemesis none --seed 5151
