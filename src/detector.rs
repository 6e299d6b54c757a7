//! The detector: embedded (or given) weights on a burn device, image in, heatmap and detections out.

use std::ops::Range;

use burn::tensor::{Device, Tensor, TensorData};

use crate::bands::{self, Cells, Job, Live, LiveLevel, Recomputed, Shape, window};
use crate::detect::{DecodeOptions, Detection, decode_level, suppress};
use crate::direct::DirectNet;
use crate::error::{Error, Result};
use crate::heatmap::Heatmap;
use crate::image::{Downscale, GrayImage, KeptMaking};
use crate::network::{CLASSES, Network, Pooling, STRIDE, cell_centre, cells, float_tensor};
use crate::verify;
use crate::weights::{self, WeightsInfo};

/// A network ready to run over images of any size.
#[derive(Debug)]
pub struct Detector {
    network: Network,
    device: Device,
    info: WeightsInfo,
    pooling: Pooling,
    pyramid: Vec<usize>,
    /// Whether the pyramid grows with the image (see [`Detector::levels`]).
    adaptive: bool,
    /// How coarser levels are made.
    downscale: Downscale,
    /// The direct CPU kernels, when they run the FCN instead of burn (see [`Detector::with_direct_kernels`]).
    direct: Option<DirectNet>,
    /// Decoding thresholds.
    pub options: DecodeOptions,
}

impl Detector {
    /// The project's default detector (weights embedded in the crate).
    pub fn embedded(device: Device) -> Result<Self> {
        Self::from_weights(weights::EMBEDDED, device)
    }

    /// A detector from a weights file's bytes.
    pub fn from_weights(bytes: &[u8], device: Device) -> Result<Self> {
        let (network, info) = weights::decode(bytes, &device)?;
        let pooling = info.pooling;
        let pyramid = info.pyramid.clone();
        // Weights trained for a pyramid (more than one level) get one that grows with the image.
        let adaptive = pyramid.len() > 1;
        Ok(Self {
            network,
            device,
            info,
            pooling,
            pyramid,
            adaptive,
            downscale: Downscale::default(),
            direct: None,
            options: DecodeOptions::default(),
        })
    }

    /// Runs the FCN on the direct CPU kernels ([`crate::direct`]) instead of burn: the same
    /// weights, read back once from a CPU device.
    pub fn with_direct_kernels(mut self) -> Result<Self> {
        self.direct = Some(DirectNet::new(&self.network.parameters()?)?);
        Ok(self)
    }

    /// The direct kernels computing every output, background or not (the same results bit for
    /// bit; for comparison: `make bench-native`).
    pub fn computing_background(mut self) -> Self {
        self.direct = self.direct.map(DirectNet::computing_background);
        self
    }

    /// Whether the FCN runs on the direct CPU kernels.
    pub fn uses_direct_kernels(&self) -> bool {
        self.direct.is_some()
    }

    /// Reads its images as drawings or not ([`verify::VerifyOptions::drawing`]; nothing to set
    /// where the options ask for no second look).
    pub fn with_drawing(mut self, drawing: bool) -> Self {
        if let Some(verify) = self.options.verify.as_mut() {
            verify.drawing = drawing;
        }
        self
    }

    /// Overrides the FCN pooling the weights file asks for.
    pub fn with_pooling(mut self, pooling: Pooling) -> Self {
        self.pooling = pooling;
        self
    }

    /// Overrides the image pyramid (downscale factors; `[1]` = native size only): exactly these
    /// levels, whatever the image's size.
    pub fn with_pyramid(mut self, pyramid: Vec<usize>) -> Self {
        self.pyramid = pyramid;
        self.adaptive = false;
        self
    }

    /// Overrides how the coarser levels are made.
    pub fn with_downscale(mut self, downscale: Downscale) -> Self {
        self.downscale = downscale;
        self
    }

    /// The downscale factors run on a `width`×`height` image: the weights' own levels and, when
    /// the pyramid is adaptive, further doublings while the level's shorter side is at least
    /// [`MIN_LEVEL_SIDE`] pixels. Each level finds digits of about 12–30 px at its scale, so
    /// doubling until the image is that small finds digits as tall as the image.
    pub fn levels(&self, width: usize, height: usize) -> Vec<usize> {
        let mut levels = self.pyramid.clone();
        if self.adaptive {
            // Octaves and the half-octaves between them (3, 6, 12 …): a level's range of digit
            // sizes is about 2.5×, so octaves alone leave the digits at either end of a range
            // to the level least sure of them.
            let top = levels.iter().copied().max().unwrap_or(1);
            let mut octave = top * 2;
            'grow: loop {
                for f in [octave / 4 * 3, octave] {
                    if f <= top || levels.contains(&f) {
                        continue;
                    }
                    if width.min(height) / f < MIN_LEVEL_SIDE {
                        break 'grow;
                    }
                    levels.push(f);
                }
                octave *= 2;
            }
        }
        levels
    }

    /// The weights' own downscale factors (what [`Detector::levels`] starts from).
    pub fn pyramid(&self) -> &[usize] {
        &self.pyramid
    }

    /// Multiply-adds of a full detection of a `width`×`height` image: the FCN over every level
    /// of [`Detector::levels`], each coarser level with its [`LEVEL_MARGIN`] (what the benchmarks
    /// turn into GFLOP/s).
    pub fn multiply_adds(&self, width: usize, height: usize) -> u64 {
        let arch = self.network.architecture();
        let (widths, hidden) = (self.network.widths(), self.network.hidden());
        self.shapes(width, height)
            .iter()
            .map(|s| arch.multiply_adds_with(s.input_height(), s.input_width(), &widths, hidden))
            .sum()
    }

    /// What the weights file says about itself.
    pub fn info(&self) -> &WeightsInfo {
        &self.info
    }

    /// The FCN pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The device the network runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs the FCN; the result is `[1, 11, rows, cols]` probabilities (not yet read back).
    pub fn forward(&self, image: &GrayImage) -> Tensor<4> {
        let input = float_tensor(image.pixels.clone(), [1, 1, image.height, image.width], &self.device);
        self.network.heatmap(input, self.pooling)
    }

    /// Wraps read-back probabilities into a [`Heatmap`] with this detector's geometry.
    pub fn assemble(&self, image: &GrayImage, probs: Vec<f32>) -> Result<Heatmap> {
        self.assemble_sized(image.width, image.height, probs)
    }

    /// [`Detector::assemble`] for an image `width`×`height`.
    fn assemble_sized(&self, width: usize, height: usize, probs: Vec<f32>) -> Result<Heatmap> {
        let (rows, cols) = (cells(height), cells(width));
        if probs.len() != CLASSES * rows * cols {
            return Err(Error::Backend(format!(
                "heatmap has {} values, expected {}",
                probs.len(),
                CLASSES * rows * cols
            )));
        }
        let (origin_x, origin_y) = self.origin(width, height);
        Ok(Heatmap { width, height, rows, cols, origin_x, origin_y, probs })
    }

    /// Pixel centre (x, y) of the window of cell (0, 0) of a `width`×`height` image's heatmap.
    pub fn origin(&self, width: usize, height: usize) -> (f32, f32) {
        let arch = self.network.architecture();
        (cell_centre(arch, self.pooling, width, 0), cell_centre(arch, self.pooling, height, 0))
    }

    /// The native heatmap of an image `height` pixels tall ([`Detector::heatmap_async`]'s) cut
    /// into at most `parts` bands of cell rows, for a pool of workers that each see only their
    /// band of the image: each band's cell rows and the pixel rows that compute them (with the
    /// receptive field's halo, on the stride grid: [`bands::window`]).
    pub fn heatmap_bands(&self, height: usize, parts: usize) -> Vec<(Range<usize>, Range<usize>)> {
        let rows = cells(height);
        let parts = parts.clamp(1, rows.max(1));
        let halo = bands::halo(self.network.architecture(), self.pooling);
        // (No band is empty: there are at most as many as rows.)
        (0..parts)
            .map(|i| i * rows / parts..(i + 1) * rows / parts)
            .map(|r| (r.clone(), window(&r, height, halo)))
            .collect()
    }

    /// Cell rows `rows` of the native heatmap of an image `height` pixels tall, from `band`: its
    /// pixel rows `pixels` alone (a band of [`Detector::heatmap_bands`]), as a heatmap of those rows
    /// (its origin the first row's window centre). On the direct kernels, bit for bit those rows
    /// of the whole image's [`Detector::heatmap_async`].
    pub async fn heatmap_rows_async(
        &self,
        band: &GrayImage,
        height: usize,
        pixels: Range<usize>,
        rows: Range<usize>,
    ) -> Result<Heatmap> {
        let halo = bands::halo(self.network.architecture(), self.pooling);
        if rows.is_empty()
            || rows.end > cells(height)
            || window(&rows, height, halo) != pixels
            || band.height != pixels.len()
        {
            return Err(Error::InvalidInput(format!(
                "cell rows {rows:?} of a {height}-pixel-tall image are not computed by pixel rows {pixels:?} \
                 (a band {} tall)",
                band.height
            )));
        }
        let cols = cells(band.width);
        let part = self.heatmap_async(band).await?;
        let probs = window_cells(&part, (pixels.start, 0), &Cells { rows: rows.clone(), cols: 0..cols });
        let (origin_x, origin_y) = self.origin(band.width, height);
        Ok(Heatmap {
            width: band.width,
            height,
            rows: rows.len(),
            cols,
            origin_x,
            origin_y: origin_y + (rows.start * STRIDE) as f32,
            probs,
        })
    }

    /// The heatmap of an image, read back asynchronously (what a browser's WebGPU needs).
    pub async fn heatmap_async(&self, image: &GrayImage) -> Result<Heatmap> {
        if let Some(direct) = &self.direct {
            return self.assemble(image, direct.heatmap(image, self.pooling)?);
        }
        let data = self.forward(image).into_data_async().await.map_err(|e| Error::Backend(format!("{e:?}")))?;
        let probs = data.try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))?;
        self.assemble(image, probs)
    }

    /// The levels of the pyramid for a `width`×`height` image, finest first (see
    /// [`Detector::levels`]), each of the coarse ones twice ([`SHIFTED_FROM`]): what
    /// [`Detector::finish`] assembles and [`bands::plan`] shares out.
    pub fn shapes(&self, width: usize, height: usize) -> Vec<Shape> {
        let mut shapes = Vec::new();
        for factor in self.levels(width, height) {
            let margin = if factor > 1 { LEVEL_MARGIN } else { 0 };
            let shape = Shape { factor, width: width.div_ceil(factor), height: height.div_ceil(factor), margin };
            shapes.push(shape);
            if factor >= SHIFTED_FROM {
                shapes.push(Shape { margin: margin + STRIDE / 2, ..shape });
            }
        }
        shapes
    }

    /// What the FCN runs on for one level of `image` (already flattened): the image itself at
    /// factor 1; else the level made the way [`Detector::with_downscale`] says, with a margin of
    /// background around it, so that a digit that fills the image is seen whole by the cells
    /// next to its edges.
    pub fn level_input(&self, image: &GrayImage, shape: &Shape) -> GrayImage {
        match shape.factor {
            1 => image.clone(),
            f => image.level(f, self.downscale).padded(shape.margin),
        }
    }

    /// Probabilities (class-major) of the rectangle `rect` of the heatmap of `input`. A part of
    /// the heatmap is computed from a window of the input with the receptive field's halo (see
    /// [`crate::bands`]): on the direct kernels, bit for bit the same cells as the whole heatmap's.
    pub async fn cells_async(&self, input: &GrayImage, rect: &Cells) -> Result<Vec<f32>> {
        let (rows, cols) = (cells(input.height), cells(input.width));
        if rect.rows.end > rows || rect.cols.end > cols || rect.rows.is_empty() || rect.cols.is_empty() {
            return Err(Error::InvalidInput(format!("cells {rect:?} outside a {rows}×{cols} heatmap")));
        }
        if rect.rows.len() == rows && rect.cols.len() == cols {
            return Ok(self.heatmap_async(input).await?.probs);
        }
        let halo = bands::halo(self.network.architecture(), self.pooling);
        let (ys, xs) = (window(&rect.rows, input.height, halo), window(&rect.cols, input.width, halo));
        let mut crop = GrayImage::blank(xs.len(), ys.len());
        for (row, y) in crop.pixels.chunks_mut(xs.len()).zip(ys.clone()) {
            row.copy_from_slice(&input.pixels[y * input.width + xs.start..y * input.width + xs.end]);
        }
        let part = self.heatmap_async(&crop).await?;
        Ok(window_cells(&part, (ys.start, xs.start), rect))
    }

    /// Assembles a detection from every level's heatmap probabilities (`probs[i]` for
    /// `shapes[i]`, as [`Detector::shapes`] gives them): each level decoded, the detections
    /// mapped back to input pixels and merged, the coarser heatmaps laid over the native one.
    pub fn finish(&self, shapes: &[Shape], probs: Vec<Vec<f32>>) -> Result<(Heatmap, Vec<Detection>)> {
        let mut heatmap = None;
        let mut coarse = Vec::new();
        let mut levels = Vec::new();
        for (shape, probs) in shapes.iter().zip(probs) {
            let mut level = self.assemble_sized(shape.input_width(), shape.input_height(), probs)?;
            if shape.margin > 0 {
                // Back to the level's own frame.
                level.origin_x -= shape.margin as f32;
                level.origin_y -= shape.margin as f32;
                (level.width, level.height) = (shape.width, shape.height);
            }
            let mut found = decode_level(&level, &self.options, shape.factor);
            let (w, h) = (shape.width as f32, shape.height as f32);
            found.retain(|d| d.x >= 0.0 && d.y >= 0.0 && d.x < w && d.y < h);
            levels.push(rescale(found, shape.factor));
            match heatmap {
                None => heatmap = Some(level),
                Some(_) => coarse.push((level, shape.factor)),
            }
        }
        let mut heatmap = heatmap.ok_or_else(|| Error::InvalidInput("no pyramid level to assemble".into()))?;
        heatmap.overlay_all(&coarse.iter().map(|(level, factor)| (level, *factor)).collect::<Vec<_>>());
        Ok((heatmap, merge(levels, &self.options)))
    }

    /// The native-size heatmap and the detections of every pyramid level, merged.
    ///
    /// The heatmap returned is the one to show: on the native-size grid, each cell takes the
    /// probabilities of the level that is most sure there is a digit there (see
    /// [`Heatmap::overlay`]), so digits found by a coarser level are coloured too.
    ///
    /// The image's page is flattened first ([`GrayImage::flattened`]: a no-op on a clean page).
    pub async fn detect_async(&self, image: &GrayImage) -> Result<(Heatmap, Vec<Detection>)> {
        self.detect_looking_async(image, true, self.drawing()).await
    }

    /// Whether the options say the images are drawings ([`verify::VerifyOptions::drawing`]).
    pub fn drawing(&self) -> bool {
        self.options.verify.is_some_and(|v| v.drawing)
    }

    /// [`Detector::detect_async`]; `look_again: false` leaves out the second look (the heatmap's
    /// detections as decoded, whatever the options say); `drawing`: the image is a drawing
    /// ([`verify::VerifyOptions::drawing`], whatever the options say).
    pub async fn detect_looking_async(
        &self,
        image: &GrayImage,
        look_again: bool,
        drawing: bool,
    ) -> Result<(Heatmap, Vec<Detection>)> {
        let image = &image.flattened();
        let shapes = self.shapes(image.width, image.height);
        let mut probs = Vec::with_capacity(shapes.len());
        for shape in &shapes {
            probs.push(self.heatmap_async(&self.level_input(image, shape)).await?.probs);
        }
        let (heatmap, detections) = self.finish(&shapes, probs)?;
        if !look_again {
            return Ok((heatmap, detections));
        }
        Ok((heatmap, self.verify_cached_async(image, detections, &Seen::default(), None, drawing).await?.0))
    }

    /// The readings of cut-outs: the classifier's probabilities for their [`verify::SIDE`]²
    /// images, and the FCN's cell ([`verify::CELL`], [`verify::CELL`]) for their
    /// [`verify::CANVAS`]² ones, 11 each.
    pub async fn read_cut_outs_async(&self, cuts: &[verify::CutOut]) -> Result<Vec<verify::Readings>> {
        if cuts.is_empty() {
            return Ok(Vec::new());
        }
        let cell = |probs: &[f32], cols: usize, index: usize| -> [f32; CLASSES] {
            let plane = probs.len() / CLASSES;
            std::array::from_fn(|k| probs[k * plane + index * cols + index])
        };
        if let Some(direct) = &self.direct {
            // The classifier: a 4×4-cell heatmap with the window pool, whose cell (1, 1) pools
            // over all 16 cells (the classifier's global max pool).
            return cuts
                .iter()
                .map(|cut| {
                    let classifier = direct.heatmap(&cut.mnist, Pooling::Window)?;
                    // Without pooling, the FCN's one cell alone (the same values, a third the work).
                    let fcn = match self.pooling {
                        Pooling::None => direct.cell(&cut.canvas, verify::CELL, verify::CELL)?,
                        pooling => cell(&direct.heatmap(&cut.canvas, pooling)?, cells(verify::CANVAS), verify::CELL),
                    };
                    Ok((cell(&classifier, cells(verify::SIDE), 1), fcn))
                })
                .collect();
        }
        let batch = |side: usize, pick: fn(&verify::CutOut) -> &GrayImage| {
            let data: Vec<f32> = cuts.iter().flat_map(|c| pick(c).pixels.iter().copied()).collect();
            float_tensor(data, [cuts.len(), 1, side, side], &self.device)
        };
        let read = |data: TensorData| data.try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")));
        let backend = |e| Error::Backend(format!("{e:?}"));
        let classifier = self.network.classify(batch(verify::SIDE, |c| &c.mnist));
        let classifier = read(classifier.into_data_async().await.map_err(backend)?)?;
        let fcn = self.network.heatmap(batch(verify::CANVAS, |c| &c.canvas), self.pooling);
        let fcn = read(fcn.into_data_async().await.map_err(backend)?)?;
        let per_fcn = fcn.len() / cuts.len();
        Ok(classifier
            .chunks(CLASSES)
            .zip(fcn.chunks(per_fcn))
            .map(|(c, f)| (std::array::from_fn(|k| c[k]), cell(f, cells(verify::CANVAS), verify::CELL)))
            .collect())
    }

    /// Each detection of `image` (flattened) looked at again ([`verify`]): read once more from
    /// its own ink, its box made tight around it, or dropped. Unchanged where the options ask
    /// for no second look; a detection with no ink to cut out stays as it is.
    pub async fn verify_async(&self, image: &GrayImage, detections: Vec<Detection>) -> Result<Vec<Detection>> {
        Ok(self.verify_cached_async(image, detections, &Seen::default(), None, self.drawing()).await?.0)
    }

    /// [`Detector::verify_async`], reusing what a live drawing's last call read and scanned
    /// (`seen`): a proposal made again whose window `change` (rows, columns of the image) does
    /// not touch keeps its cut-out and readings; any cut-out that comes again keeps its readings;
    /// an ink box [`verify::apart`] scanned that `change` does not touch keeps its answer. Also
    /// returns what this call read and scanned.
    async fn verify_cached_async(
        &self,
        image: &GrayImage,
        detections: Vec<Detection>,
        seen: &Seen,
        change: Option<&Change>,
        drawing: bool,
    ) -> Result<(Vec<Detection>, Seen)> {
        if self.options.verify.is_none() {
            return Ok((detections, Seen::default()));
        }
        let items = propose(image, detections, &seen.readings, change);
        let new: Vec<verify::CutOut> = unread(&items).cloned().collect();
        let readings = self.read_cut_outs_async(&new).await?;
        self.settle_cached_async(image, items, readings, seen, change, drawing).await
    }

    /// The second half of [`Detector::verify_async`]: `readings` are those of the proposals'
    /// unread cut-outs ([`unread`]), in order. Each detection combined with its readings, then
    /// the ink left unexplained proposed and read here.
    async fn settle_cached_async(
        &self,
        image: &GrayImage,
        items: Vec<Proposal>,
        readings: Vec<verify::Readings>,
        seen: &Seen,
        change: Option<&Change>,
        drawing: bool,
    ) -> Result<(Vec<Detection>, Seen)> {
        let Some(options) = self.options.verify else {
            return Ok((items.into_iter().map(|p| p.0).collect(), Seen::default()));
        };
        let known = &seen.readings[..];
        let options = verify::VerifyOptions { drawing, ..options };
        let mut fresh = readings.into_iter();
        let mut next = |seen: Option<verify::Readings>| match seen {
            Some(r) => Ok(r),
            None => fresh.next().ok_or_else(|| Error::InvalidInput("fewer readings than cut-outs".into())),
        };
        let mut kept: Vec<verify::Reading> = Vec::with_capacity(items.len());
        let mut out = Vec::with_capacity(items.len());
        // The heatmap's proposals read as no digit, whose ink may be two digits written touching.
        let mut unread: Vec<usize> = Vec::new();
        // Each detection read as a digit, by its place in `out` and its reading's in `kept`: its
        // ink may be two digits side by side ([`verify::apart`]).
        let mut found_at: Vec<(usize, usize)> = Vec::new();
        for (d, cut) in items {
            let Some((cut, seen)) = cut else {
                out.push(d);
                continue;
            };
            let (classifier, fcn) = next(seen)?;
            let found = verify::combine(&d, &cut, &classifier, &fcn, &options);
            match found {
                None => unread.push(kept.len()),
                Some(_) => found_at.push((out.len(), kept.len())),
            }
            out.extend(found);
            kept.push((d, cut, classifier, fcn));
        }
        if fresh.next().is_some() {
            return Err(Error::InvalidInput("more readings than cut-outs".into()));
        }
        let first_ink = kept.len();
        // The detections sure enough that ink written beside them in their row is held to a
        // digit's bar, not an ink proposal's ([`verify::INK_OBJECTNESS_BESIDE`]).
        let sure: Vec<Detection> = out.iter().filter(|d| d.score >= verify::BESIDE_SURE).cloned().collect();
        // Ink left unexplained, as tall as the image: proposed, read, kept only where sure (a
        // live drawing's proposal made again, its window untouched, as before). Then, where ink
        // proposals were kept, the ink that a kept proposal's group held but its cut-out left out
        // (a 1 a few pixels after a 5 the heatmap missed: grouped with it, the group's cut-out
        // read the 5 alone), proposed again once the kept proposals explain their own ink: of
        // the new proposals inside a kept one's box (elsewhere the ink is grouped as before), the
        // largest, one for each kept proposal (on a pad of scribble, where a kept proposal's box
        // holds many groups, each stroke would otherwise read up to ten more). One loop, one
        // read: a second call's code in this async function cost the module 2 KB.
        let strokes = verify::InkStrokes::new(image);
        // Ink proposals read as no digit (by their place in `kept`): their ink may be two digits
        // written close together, which the grouping joined.
        let mut ink_unread: Vec<usize> = Vec::new();
        // The first pass's proposals, and the boxes of those kept.
        let mut first: Vec<[u32; 4]> = Vec::new();
        let mut accepted: Vec<Detection> = Vec::new();
        for pass in 0..2 {
            if pass == 1 && accepted.is_empty() {
                break;
            }
            let within = |d: &Detection| {
                pass == 0
                    || (!first.contains(&box_bits(d))
                        && accepted.iter().any(|a| (d.x - a.x).abs() <= a.w / 2.0 && (d.y - a.y).abs() <= a.h / 2.0))
            };
            let most = if pass == 0 { usize::MAX } else { accepted.len() };
            let proposals: Vec<(Detection, Cut)> = verify::ink_proposals_in(image, &strokes, &out)
                .into_iter()
                .filter(within)
                .take(most)
                .filter_map(|d| cut_for(image, &d, verify::Fences::default(), known, change).map(|cut| (d, cut)))
                .collect();
            if pass == 0 {
                first = proposals.iter().map(|(d, _)| box_bits(d)).collect();
            }
            let new: Vec<verify::CutOut> =
                proposals.iter().filter(|p| p.1.1.is_none()).map(|p| p.1.0.clone()).collect();
            let mut fresh = self.read_cut_outs_async(&new).await?.into_iter();
            for (d, (cut, seen)) in proposals {
                let (classifier, fcn) = match seen {
                    Some(r) => r,
                    None => fresh.next().ok_or_else(|| Error::Backend("a cut-out was not read".into()))?,
                };
                let neighbours = verify::neighbours(&d, &cut, &sure);
                let found = verify::accept_proposal(&cut, &classifier, &fcn, drawing, neighbours);
                match found {
                    Some(_) => found_at.push((out.len(), kept.len())),
                    None => ink_unread.push(kept.len()),
                }
                if pass == 0 && found.is_some() {
                    accepted.push(d.clone());
                }
                out.extend(found);
                kept.push((d, cut, classifier, fcn));
            }
        }
        // A proposal read as no digit but not surely background ([`verify::worth_another_look`])
        // may be digits of a number written touching: cut out again fenced from the
        // neighbours in its row ([`verify::beside`]), and kept if that reads as a digit;
        // otherwise, its ink about as wide as tall or wider, cut into two halves
        // ([`verify::halves`]), both kept if both are digits as the proposal would be (a scribble
        // cut in two is not). Ink proposals read as no digit are not looked at again: on the
        // benchmark's pad of scribble their one large group, read as nothing at each stroke,
        // made a live stroke some 15 % slower, for 0.008 of the `number` set's F1.
        let proposed: Vec<Detection> = kept[..first_ink].iter().map(|r| r.0.clone()).collect();
        let mut again: Vec<AnotherLook> = Vec::new();
        for &i in unread.iter().filter(|&&i| verify::worth_another_look(&kept[i].1, &kept[i].3)) {
            let (d, cut) = (&kept[i].0, &kept[i].1);
            let fenced = Some(verify::beside(d, &proposed))
                .filter(|b| *b != verify::Beside::default())
                .and_then(|b| cut_for(image, d, verify::Fences::beside(b), known, change))
                .filter(|(c, _)| c.ink != cut.ink)
                .map(|c| (d.clone(), c));
            let halves = verify::halves(d, cut).and_then(|[(l, lf), (r, rf)]| {
                let (left, right) = (cut_for(image, &l, lf, known, change)?, cut_for(image, &r, rf, known, change)?);
                Some([(l, left), (r, right)])
            });
            again.push((fenced, halves));
        }
        // A detection whose ink stands as two tall parts side by side ([`verify::apart`]): a 1
        // written against a 3, two digits of a number that touch, read as one. Each part is cut
        // out within a fence between them and read; both are kept in its place where both are
        // sure digits ([`verify::read_apart`]). An ink box the last call scanned and `change`
        // does not touch keeps its answer (a live stroke rescans only what it drew into).
        let mut apart: Vec<(usize, [(Detection, Cut); 2])> = Vec::new();
        let mut scanned: Vec<([usize; 4], Option<usize>)> = Vec::with_capacity(found_at.len());
        let untouched = |[x0, y0, x1, y1]: [usize; 4]| {
            change.is_some_and(|(rows, cols)| !verify::meets((&(y0..y1), &(x0..x1)), (rows, cols)))
        };
        // The same for an ink proposal read as no digit: two digits the heatmap missed, written
        // so close that the ink's grouping joined them (a 1 a few pixels after another 1, a 0
        // beside a leaning 1). Its parts are kept where each is a digit as an ink proposal
        // would be ([`verify::accept_proposal`]), both or neither.
        let mut ink_apart: Vec<[(Detection, Cut); 2]> = Vec::new();
        let wholes = found_at.iter().map(|&(o, k)| (Some(o), k)).chain(ink_unread.iter().map(|&k| (None, k)));
        for (o, k) in wholes {
            let Some(ink) = verify::apart_box(image, &kept[k].1) else {
                continue;
            };
            let column = match seen.aparts.iter().find(|(b, _)| *b == ink && untouched(ink)) {
                Some(&(_, column)) => column,
                None => verify::apart_column(image, ink),
            };
            scanned.push((ink, column));
            let Some(column) = column else {
                continue;
            };
            let [(l, lf), (r, rf)] = verify::apart_parts(&kept[k].0, ink, column);
            if let (Some(left), Some(right)) =
                (cut_for(image, &l, lf, known, change), cut_for(image, &r, rf, known, change))
            {
                match o {
                    Some(o) => apart.push((o, [(l, left), (r, right)])),
                    None => ink_apart.push([(l, left), (r, right)]),
                }
            }
        }
        let new: Vec<verify::CutOut> = again
            .iter()
            .flat_map(|(fenced, halves)| fenced.iter().chain(halves.iter().flatten()))
            .chain(apart.iter().flat_map(|(_, parts)| parts.iter()))
            .chain(ink_apart.iter().flatten())
            .filter(|(_, (_, seen))| seen.is_none())
            .map(|(_, (cut, _))| cut.clone())
            .collect();
        let mut fresh = self.read_cut_outs_async(&new).await?.into_iter();
        let mut read = |(d, (cut, seen)): (Detection, Cut), kept: &mut Vec<verify::Reading>| {
            let (classifier, fcn) = match seen {
                Some(r) => r,
                None => fresh.next().ok_or_else(|| Error::Backend("a cut-out was not read".into()))?,
            };
            let found = verify::combine(&d, &cut, &classifier, &fcn, &options);
            kept.push((d, cut, classifier, fcn));
            Ok::<_, Error>((found, classifier))
        };
        for (fenced, halves) in again {
            let fenced = match fenced {
                Some(f) => read(f, &mut kept)?.0,
                None => None,
            };
            let mut pair = Vec::with_capacity(2);
            for half in halves.into_iter().flatten() {
                pair.extend(read(half, &mut kept)?.0);
            }
            match fenced {
                Some(found) => out.push(found),
                None if pair.len() == 2 => out.extend(pair),
                None => {}
            }
        }
        let mut two: Vec<(usize, [Detection; 2])> = Vec::new();
        for (o, [left, right]) in apart {
            let (left, right) = (read(left, &mut kept)?, read(right, &mut kept)?);
            let cuts = &kept[kept.len() - 2..];
            let parts = [(left.0, &left.1, &cuts[0].1), (right.0, &right.1, &cuts[1].1)];
            two.extend(verify::read_apart(&out[o], parts, options.drawing).map(|parts| (o, parts)));
        }
        for parts in ink_apart {
            let mut pair = Vec::with_capacity(2);
            for (d, (cut, seen)) in parts {
                let (classifier, fcn) = match seen {
                    Some(r) => r,
                    None => fresh.next().ok_or_else(|| Error::Backend("a cut-out was not read".into()))?,
                };
                let neighbours = verify::neighbours(&d, &cut, &sure);
                pair.extend(verify::accept_proposal(&cut, &classifier, &fcn, drawing, neighbours));
                kept.push((d, cut, classifier, fcn));
            }
            // Both, or neither: a piece of clutter cut in two (a sleeve beside a sweater) may
            // leave one part that reads as a 1.
            if pair.len() == 2 {
                out.extend(pair);
            }
        }
        if !two.is_empty() {
            // Each whole read as two digits gives way to them.
            let wholes: Vec<usize> = two.iter().map(|(o, _)| *o).collect();
            out = (out.into_iter().enumerate())
                .filter(|(i, _)| !wholes.contains(i))
                .map(|(_, d)| d)
                .chain(two.into_iter().flat_map(|(_, parts)| parts))
                .collect();
        }
        verify::drop_pieces(&mut out);
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok((out, Seen { readings: kept, aparts: scanned }))
    }

    /// A pooled detection with its second look shared out too: the parts assembled as
    /// [`Detector::finish_jobs_async`] does, and the detections proposed with their cut-outs
    /// ([`Proposals::unread`]), which any worker reads ([`Detector::read_cut_outs_async`]) before
    /// [`Detector::settle_async`] ends it. The same result as one worker's.
    /// `drawing`: the image is a drawing ([`verify::VerifyOptions::drawing`], whatever the
    /// options say), kept for [`Detector::settle_async`].
    pub fn propose_jobs(
        &self,
        page: Page,
        jobs: &[Job],
        probs: Vec<Vec<f32>>,
        drawing: bool,
    ) -> Result<(Heatmap, Proposals)> {
        let image = page.flattened().into_owned();
        let (heatmap, detections) = self.assemble_jobs(image.width, image.height, jobs, probs)?;
        let items = propose(&image, detections, &[], None);
        Ok((heatmap, Proposals { image, items, drawing }))
    }

    /// Ends a [`Detector::propose_jobs`] with the readings of its unread cut-outs, in order.
    pub async fn settle_async(&self, proposals: Proposals, readings: Vec<verify::Readings>) -> Result<Vec<Detection>> {
        Ok(self
            .settle_cached_async(&proposals.image, proposals.items, readings, &Seen::default(), None, proposals.drawing)
            .await?
            .0)
    }

    /// A detection of a `width`×`height` image cut into `parts` lists of jobs of about equal
    /// cost, for a pool of workers (see [`bands::plan`]).
    pub fn plan(&self, width: usize, height: usize, parts: usize) -> Vec<Vec<Job>> {
        bands::plan(&self.shapes(width, height), self.network.architecture(), self.pooling, parts)
    }

    /// The probabilities of one part of a [`Detector::plan`] for `page` (one vector a job).
    pub async fn run_jobs_async(&self, page: Page<'_>, jobs: &[Job]) -> Result<Vec<Vec<f32>>> {
        let image = &*page.flattened();
        let shapes = self.shapes(image.width, image.height);
        let mut inputs: Vec<Option<GrayImage>> = vec![None; shapes.len()];
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let shape =
                shapes.get(job.level).ok_or_else(|| Error::InvalidInput(format!("no pyramid level {}", job.level)))?;
            let input = inputs[job.level].get_or_insert_with(|| self.level_input(image, shape));
            out.push(self.cells_async(input, &Cells { rows: job.rows.clone(), cols: 0..shape.cols() }).await?);
        }
        Ok(out)
    }

    /// Assembles a pooled detection of `page` from the jobs of every part and their
    /// probabilities, in any order, and (`look_again`) looks at each detection again
    /// ([`verify`]; `drawing` as there): the same result as [`Detector::detect_looking_async`].
    /// Jobs that leave a cell uncovered are an error.
    pub async fn finish_jobs_async(
        &self,
        page: Page<'_>,
        jobs: &[Job],
        probs: Vec<Vec<f32>>,
        look_again: bool,
        drawing: bool,
    ) -> Result<(Heatmap, Vec<Detection>)> {
        let image = &*page.flattened();
        let (heatmap, detections) = self.assemble_jobs(image.width, image.height, jobs, probs)?;
        if !look_again {
            return Ok((heatmap, detections));
        }
        Ok((heatmap, self.verify_cached_async(image, detections, &Seen::default(), None, drawing).await?.0))
    }

    /// The parts of a pooled detection of a `width`×`height` image assembled and decoded.
    fn assemble_jobs(
        &self,
        width: usize,
        height: usize,
        jobs: &[Job],
        probs: Vec<Vec<f32>>,
    ) -> Result<(Heatmap, Vec<Detection>)> {
        let shapes = self.shapes(width, height);
        let mut whole: Vec<Vec<f32>> = shapes.iter().map(|s| vec![f32::NAN; s.values()]).collect();
        let mut covered: Vec<usize> = vec![0; shapes.len()];
        for (job, part) in jobs.iter().zip(probs) {
            let shape =
                shapes.get(job.level).ok_or_else(|| Error::InvalidInput(format!("no pyramid level {}", job.level)))?;
            let rect = Cells { rows: job.rows.clone(), cols: 0..shape.cols() };
            if job.rows.end > shape.rows() || part.len() != rect.values() {
                return Err(Error::InvalidInput(format!("job {job:?} does not fit level {shape:?}")));
            }
            bands::splice(&mut whole[job.level], shape.rows(), shape.cols(), &rect, &part);
            covered[job.level] += job.rows.len();
        }
        if let Some(level) = (0..shapes.len()).find(|&i| covered[i] != shapes[i].rows()) {
            return Err(Error::InvalidInput(format!(
                "the jobs cover {} of level {level}'s {} rows",
                covered[level],
                shapes[level].rows()
            )));
        }
        self.finish(&shapes, whole)
    }

    /// [`Detector::detect_async`] for a drawing that changes a little between calls: each
    /// level's input is compared with the last call's (kept in `live`), and each layer of the
    /// direct kernels recomputes only the outputs that see a changed pixel
    /// ([`DirectNet::update`]). The result is the same, bit for bit, as a full detection. Other
    /// engines (and pooling) recompute everything; a different size starts afresh. `drawing`
    /// as for [`Detector::detect_looking_async`].
    pub async fn detect_live_async(
        &self,
        image: &GrayImage,
        live: &mut Live,
        drawing: bool,
    ) -> Result<(Heatmap, Vec<Detection>, Recomputed)> {
        let image = image.flattened();
        let shapes = self.shapes(image.width, image.height);
        let direct = self.direct.as_ref().filter(|_| self.pooling == Pooling::None);
        let same = live.levels.len() == shapes.len() && live.levels.iter().zip(&shapes).all(|(l, s)| l.shape == *s);
        let Some(direct) = direct else {
            *live = Live::default();
            let (heatmap, detections) = self.detect_looking_async(&image, true, drawing).await?;
            let total = shapes.iter().map(|s| s.rows() * s.cols()).sum();
            return Ok((heatmap, detections, Recomputed { cells: total, total }));
        };
        // What changed since the last call, in the image's pixels (nothing: every level is kept).
        let change = match (&live.image, same) {
            (Some(old), true) => bands::changed(old, &image),
            _ => {
                live.levels.clear();
                Some((0..image.height, 0..image.width))
            }
        };
        let mut done = Recomputed { cells: 0, total: shapes.iter().map(|s| s.rows() * s.cols()).sum() };
        let mut kept = Vec::with_capacity(shapes.len());
        let Some((rows, cols)) = change else {
            let probs = live.levels.iter().map(|l| l.trace.probs.clone()).collect();
            let (heatmap, detections) = self.finish(&shapes, probs)?;
            let nothing = (0..0, 0..0);
            let (detections, seen) =
                self.verify_cached_async(&image, detections, &live.seen, Some(&nothing), drawing).await?;
            live.seen = seen;
            return Ok((heatmap, detections, done));
        };
        for (i, shape) in shapes.iter().enumerate() {
            let mut old = live.levels.get_mut(i);
            let last_making = old.as_ref().and_then(|l| l.making.as_ref()).map(KeptMaking::making);
            let f = shape.factor;
            // The box-filtered image's blocks the change covers.
            let blocks = (rows.start / f..rows.end.div_ceil(f), cols.start / f..cols.end.div_ceil(f));
            let last = old.as_mut().map(|l| (l.boxed.take(), l.making.take()));
            let (boxed, kept_making) = match (f, self.downscale.starts_from_box(), last) {
                (1, _, _) | (_, false, _) => (None, None),
                (f, true, Some((Some(mut boxed), Some(mut making)))) => {
                    making.forget(&boxed, &blocks.0, &blocks.1);
                    image.downscale_into(&mut boxed, f, rows.clone(), cols.clone());
                    making.update(&boxed, &blocks.0, &blocks.1);
                    (Some(boxed), Some(making))
                }
                (f, true, _) => {
                    let boxed = image.downscaled(f);
                    let making = KeptMaking::new(self.downscale, &boxed);
                    (Some(boxed), Some(making))
                }
            };
            // The native level runs on the image itself (kept once, in `live.image`), whose
            // change is known. A coarser one made from its box-filtered image the same way as
            // last time is remade where that image's blocks changed; otherwise it is made whole
            // and compared with the last one.
            let making = kept_making.as_ref().map(KeptMaking::making);
            let whole = || match (&boxed, making) {
                (Some(boxed), Some(making)) => making.made(boxed.clone()).padded(shape.margin),
                _ => self.level_input(&image, shape),
            };
            let (input, trace) = match old {
                Some(level) => {
                    let mut input = level.input.take();
                    let level_change = match (&mut input, &boxed, making) {
                        (None, _, _) => Some((rows.clone(), cols.clone())),
                        (Some(last), Some(boxed), Some(making)) if last_making == Some(making) => {
                            making.remake(boxed, blocks.0.clone(), blocks.1.clone(), shape.margin, last)
                        }
                        (Some(last), _, _) => {
                            let made = whole();
                            let change = bands::changed(last, &made);
                            *last = made;
                            change
                        }
                    };
                    if let Some((rows, cols)) = level_change {
                        done.cells += direct.update(&mut level.trace, input.as_ref().unwrap_or(&image), rows, cols)?;
                    }
                    (input, std::mem::take(&mut level.trace))
                }
                None => {
                    done.cells += shape.rows() * shape.cols();
                    let input = (shape.factor > 1).then(whole);
                    let trace = direct.trace(input.as_ref().unwrap_or(&image))?;
                    (input, trace)
                }
            };
            kept.push(LiveLevel { shape: *shape, boxed, making: kept_making, input, trace });
        }
        let (heatmap, detections) = self.finish(&shapes, kept.iter().map(|l| l.trace.probs.clone()).collect())?;
        let changed = (rows, cols);
        let (detections, seen) =
            self.verify_cached_async(&image, detections, &live.seen, Some(&changed), drawing).await?;
        live.levels = kept;
        live.image = Some(image);
        live.seen = seen;
        Ok((heatmap, detections, done))
    }

    /// The heatmap of an image (blocking; CPU backends).
    pub fn heatmap(&self, image: &GrayImage) -> Result<Heatmap> {
        block_on(self.heatmap_async(image))
    }

    /// [`Detector::detect_async`], blocking (CPU backends).
    pub fn detect(&self, image: &GrayImage) -> Result<(Heatmap, Vec<Detection>)> {
        block_on(self.detect_async(image))
    }
}

/// The shortest side, in pixels, that an adaptive pyramid level may have: a level finds digits up
/// to about 20 px, so down to 20 finds digits as tall as the image (320 px on the 448×336 pad at
/// 1/16).
pub const MIN_LEVEL_SIDE: usize = 24;
/// Levels at this factor and coarser run twice: with [`LEVEL_MARGIN`] and with half a stride
/// more, so that their stride-8 grid of cells falls on the digits at two phases. At a coarse
/// level a cell is 48–96 input pixels apart and the largest digits fill the level: where the
/// grid falls decided whether a pad-height digit was found. On `make scenes` (300 a set): pad
/// F1 0.876 → 0.891, its 80–160 px recall 0.869 → 0.903 and 160–320 px 0.685 → 0.750, every
/// other set unchanged (their images have no level this coarse); from 1/3 instead: pad 0.893,
/// hands 0.865 → 0.871, but clutter's false detections 0.070 → 0.090 and negatives' 0.073 →
/// 0.103. Cost: 1.094× the multiply-adds on the pad (702 M against 642 M; the coarse levels are
/// small but their margins are not), 1.089× at 512².
pub const SHIFTED_FROM: usize = 6;
/// Background added around every coarser level (pixels at its scale), so that a digit that fills
/// a level is seen whole by the cells next to its edges. 16 against 8, on `make scenes` (300 a
/// set): pad F1 0.866 → 0.870 (160–320 px recall 0.71 → 0.73), clutter's false detections 0.133
/// → 0.113 a scene, negatives' 0.120 → 0.107, the other sets within ±0.002; 24 and 32 gave the
/// same as 16; 12 (off the stride grid) moved sets both ways. Cost: 7 % more multiply-adds at 512².
pub const LEVEL_MARGIN: usize = 16;

/// Detections proposed for a second look, with their cut-outs (see [`Detector::propose_jobs`]).
#[derive(Debug, Clone)]
pub struct Proposals {
    /// The flattened image.
    image: GrayImage,
    items: Vec<Proposal>,
    /// Whether the image is a drawing ([`verify::VerifyOptions::drawing`]).
    drawing: bool,
}

impl Proposals {
    /// The cut-outs still to read, in the order their readings are expected.
    pub fn unread(&self) -> impl Iterator<Item = &verify::CutOut> {
        unread(&self.items)
    }
}

/// An image for the pooled calls ([`Detector::run_jobs_async`], [`Detector::propose_jobs`],
/// [`Detector::finish_jobs_async`]): as given (they flatten it), or already flattened
/// ([`GrayImage::flattened`]) — a pool's coordinator keeps the page its own part made, so that
/// the page is not flattened again on the way to the result.
#[derive(Debug, Clone, Copy)]
pub enum Page<'a> {
    /// The image as given.
    Given(&'a GrayImage),
    /// An image already flattened.
    Flattened(&'a GrayImage),
}

impl<'a> Page<'a> {
    /// `image`, [`Page::Flattened`] if it is already flattened, else [`Page::Given`].
    pub fn new(image: &'a GrayImage, flattened: bool) -> Self {
        if flattened { Page::Flattened(image) } else { Page::Given(image) }
    }

    /// The flattened image.
    pub fn flattened(self) -> std::borrow::Cow<'a, GrayImage> {
        match self {
            Page::Given(image) => std::borrow::Cow::Owned(image.flattened()),
            Page::Flattened(image) => std::borrow::Cow::Borrowed(image),
        }
    }
}

/// What changed since a live drawing's last call: rows, then columns of the image.
type Change = (Range<usize>, Range<usize>);
/// What a live drawing's last call looked at ([`Live`]), for the next to reuse: the second
/// looks' readings, and the ink boxes [`verify::apart`] scanned with the column each parts at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    readings: Vec<verify::Reading>,
    aparts: Vec<([usize; 4], Option<usize>)>,
}

/// A proposal's cut-out and the readings already known for it.
type Cut = (verify::CutOut, Option<verify::Readings>);
/// A detection proposed for a second look and its cut-out (none: nothing to cut out).
type Proposal = (Detection, Option<Cut>);

/// The first half of [`Detector::verify_async`]: the detections to look at again (the
/// strongest [`verify::looks`]) with their cut-outs ([`cut_for`]).
fn propose(
    image: &GrayImage,
    mut detections: Vec<Detection>,
    known: &[verify::Reading],
    change: Option<&Change>,
) -> Vec<Proposal> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections.truncate(verify::looks(image.width, image.height));
    detections
        .into_iter()
        .map(|d| {
            let cut = cut_for(image, &d, verify::Fences::default(), known, change);
            (d, cut)
        })
        .collect()
}

/// A proposal read as no digit, looked at again (in `settle_cached_async`): its cut-out fenced
/// from its neighbours, and its two halves.
type AnotherLook = (Option<(Detection, Cut)>, Option<[(Detection, Cut); 2]>);

/// A proposal's cut-out within `fences` (its neighbours', [`verify::cut_out_within`]), and the
/// readings `known` already has for it: a live drawing's last call's, where a proposal with the
/// same box and fences was made (a cut-out depends on the box, the fences and the pixels around
/// it, not on the digit or score, which a stroke far away may change) and `change` does not touch
/// what its cut-out read (no cut-out made again), or where its cut-out comes again.
fn cut_for(
    image: &GrayImage,
    d: &Detection,
    fences: verify::Fences,
    known: &[verify::Reading],
    change: Option<&Change>,
) -> Option<Cut> {
    let size = (image.width, image.height);
    let untouched =
        |cut: &verify::CutOut| change.is_some_and(|(rows, cols)| !verify::touches(d, cut, size, rows, cols));
    let same_box = |o: &Detection| box_bits(o) == box_bits(d);
    let same_neighbours = |cut: &verify::CutOut| {
        let bits = |f: verify::Fences| {
            let beside = (f.beside.left.map(f32::to_bits), f.beside.right.map(f32::to_bits));
            (beside, f.wide.to_bits(), f.at)
        };
        bits(cut.fences) == bits(fences)
    };
    match known.iter().find(|r| same_box(&r.0) && same_neighbours(&r.1) && untouched(&r.1)) {
        Some(r) => Some((r.1.clone(), Some((r.2, r.3)))),
        None => verify::cut_out_within(image, d, fences).map(|cut| {
            let seen = known.iter().find(|r| r.1 == cut).map(|r| (r.2, r.3));
            (cut, seen)
        }),
    }
}

/// A detection's box (centre and size) bit for bit: the same box, whatever its digit and score.
fn box_bits(d: &Detection) -> [u32; 4] {
    [d.x, d.y, d.w, d.h].map(f32::to_bits)
}

/// The cut-outs of `items` still to read, in the order their readings are expected.
fn unread(items: &[Proposal]) -> impl Iterator<Item = &verify::CutOut> {
    items.iter().filter_map(|(_, cut)| cut.as_ref().filter(|c| c.1.is_none()).map(|c| &c.0))
}

/// Cells `rect` (of a whole image's heatmap) from `part`, the heatmap of the image's pixels from
/// row and column `at` on (a window [`bands::window`] gives, on the stride grid).
fn window_cells(part: &Heatmap, at: (usize, usize), rect: &Cells) -> Vec<f32> {
    let (r0, c0) = (at.0 / STRIDE, at.1 / STRIDE);
    let inner =
        Cells { rows: rect.rows.start - r0..rect.rows.end - r0, cols: rect.cols.start - c0..rect.cols.end - c0 };
    bands::extract(&part.probs, part.rows, part.cols, &inner)
}

/// Runs a future to completion on this thread. The CPU backends complete read-backs without
/// waiting on anything, so this only polls.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Maps detections of a level downscaled by `factor` back to input pixels.
pub fn rescale(mut detections: Vec<Detection>, factor: usize) -> Vec<Detection> {
    let f = factor as f32;
    for d in &mut detections {
        // Pixel i of the level covers input pixels f·i .. f·i + f − 1.
        d.x = d.x * f + (f - 1.0) / 2.0;
        d.y = d.y * f + (f - 1.0) / 2.0;
        d.w *= f;
        d.h *= f;
    }
    detections
}

/// Merges the detections of several pyramid levels: non-maximum suppression across levels, by
/// score. (Letting the finer level win instead was measured worse on the multi-scale and drawn
/// scene sets: the native-size level misreads parts of large digits.)
pub fn merge(levels: Vec<Vec<Detection>>, options: &DecodeOptions) -> Vec<Detection> {
    if levels.len() == 1 {
        return levels.into_iter().next().unwrap_or_default();
    }
    suppress(levels.into_iter().flatten().collect(), options.nms_fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(x: f32, y: f32, w: f32, score: f32, digit: u8) -> Detection {
        Detection { digit, score, x, y, w, h: w }
    }

    #[test]
    fn rescaling_maps_a_level_pixel_to_the_centre_of_the_input_pixels_it_covers() {
        // Pixel i of a level at 1/f covers input pixels f·i … f·i + f − 1.
        let back = rescale(vec![detection(10.0, 4.0, 28.0, 0.9, 3)], 2);
        assert_eq!(back, [Detection { digit: 3, score: 0.9, x: 20.5, y: 8.5, w: 56.0, h: 56.0 }]);
        let back = rescale(vec![detection(0.0, 0.0, 28.0, 0.9, 3)], 4);
        assert_eq!((back[0].x, back[0].y, back[0].w), (1.5, 1.5, 112.0));
        assert_eq!(rescale(vec![detection(7.0, 9.0, 28.0, 0.5, 1)], 1), [detection(7.0, 9.0, 28.0, 0.5, 1)]);
    }

    #[test]
    fn merging_levels_suppresses_across_them_by_score() {
        let options = DecodeOptions::default();
        // A large digit seen whole at ½ (score 0.9) and in part at full size (0.6): the whole wins.
        let merged =
            merge(vec![vec![detection(50.0, 50.0, 28.0, 0.6, 1)], vec![detection(56.0, 52.0, 56.0, 0.9, 7)]], &options);
        assert_eq!(merged, [detection(56.0, 52.0, 56.0, 0.9, 7)]);
        // Far apart, both stay, best first.
        let merged = merge(
            vec![vec![detection(20.0, 20.0, 28.0, 0.6, 1)], vec![detection(120.0, 90.0, 56.0, 0.9, 7)]],
            &options,
        );
        assert_eq!(merged.iter().map(|d| d.digit).collect::<Vec<_>>(), [7, 1]);
        // One level is passed through as decoded (its own suppression already ran).
        let one = vec![detection(20.0, 20.0, 28.0, 0.6, 1), detection(24.0, 20.0, 28.0, 0.5, 2)];
        assert_eq!(merge(vec![one.clone()], &options), one);
    }

    #[test]
    fn the_adaptive_pyramid_grows_with_the_image() {
        let detector = Detector::embedded(Device::flex()).unwrap();
        assert_eq!(detector.pyramid(), [1, 2], "the embedded weights ask for 1 and ½");
        assert_eq!(detector.levels(128, 128), [1, 2, 3, 4]);
        assert_eq!(detector.levels(448, 336), [1, 2, 3, 4, 6, 8, 12]);
        assert_eq!(detector.levels(512, 512), [1, 2, 3, 4, 6, 8, 12, 16]);
        assert_eq!(detector.levels(30, 400), [1, 2]);
        let fixed = Detector::embedded(Device::flex()).unwrap().with_pyramid(vec![1, 2]);
        assert_eq!(fixed.levels(448, 336), [1, 2]);
    }

    #[test]
    fn multiply_adds_count_every_level_with_its_margin() {
        let detector = Detector::embedded(Device::flex()).unwrap();
        let arch = detector.network().architecture();
        let native = Detector::embedded(Device::flex()).unwrap().with_pyramid(vec![1]);
        assert_eq!(native.multiply_adds(512, 512), arch.multiply_adds(512, 512));
        let two = Detector::embedded(Device::flex()).unwrap().with_pyramid(vec![1, 2]);
        assert_eq!(two.multiply_adds(512, 512), arch.multiply_adds(512, 512) + arch.multiply_adds(288, 288));
        // Levels from 1/6 run twice, the second time with 4 px more margin on every side.
        let level = |f: usize, margin: usize| {
            arch.multiply_adds(512usize.div_ceil(f) + 2 * margin, 512usize.div_ceil(f) + 2 * margin)
        };
        let levels: u64 = [1, 2, 3, 4, 6, 8, 12, 16]
            .iter()
            .map(|&f| match f {
                1 => arch.multiply_adds(512, 512),
                2..=4 => level(f, 16),
                _ => level(f, 16) + level(f, 20),
            })
            .sum();
        assert_eq!(detector.multiply_adds(512, 512), levels);
        let shapes: Vec<(usize, usize)> = detector.shapes(448, 336).iter().map(|s| (s.factor, s.margin)).collect();
        assert_eq!(shapes, [(1, 0), (2, 16), (3, 16), (4, 16), (6, 16), (6, 20), (8, 16), (8, 20), (12, 16), (12, 20)]);
    }
}
