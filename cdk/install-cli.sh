#!/usr/bin/env bash
# Install the pinned aws-cdk CLI (package.json + package-lock.json) into cdk/node_modules.
# Idempotent: does nothing when the locked version is already there. Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")"
want=$(node -p "require('./package-lock.json').packages['node_modules/aws-cdk'].version")
have=$(node -p "try { require('./node_modules/aws-cdk/package.json').version } catch (e) { '' }")
if [[ "$have" == "$want" ]]; then
  exit 0
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
node_modules/.bin/cdk --version
