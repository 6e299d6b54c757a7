#!/usr/bin/env bash
# webpack 5, no config: src/index.js → dist/main.js; the page is written by hand.
set -euo pipefail
mkdir -p src dist
cp main.js src/index.js
sed 's|<script type="module" src="./main.js"></script>|<script src="main.js"></script>|' index.html > dist/index.html
"$BIN/webpack" --mode production --no-stats
