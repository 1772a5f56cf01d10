#!/bin/bash
# tests/cluster/lock_local.sh: lock_basic.sh and lock_paused.sh against
# tests/cluster/fake_coordd, the stand-in server, so that libcoord's
# sessions and locks and coordctl lock are tested before coordd serves
# them (the real cluster runs the same scripts).
here=$(dirname "$0")
LOCK_SERVER=fake bash "$here/lock_basic.sh" || exit 1
LOCK_SERVER=fake bash "$here/lock_paused.sh" || exit 1
