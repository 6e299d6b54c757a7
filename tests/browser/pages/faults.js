// GPU fault injection for the browser tests — test code, not part of the package: it patches the
// WebGPU API of the scope it runs in (a page, or the test worker, see fault-worker.js), before
// the detector starts.
//   'no-adapter'      navigator.gpu.requestAdapter() finds no adapter;
//   'request-device'  GPUAdapter.requestDevice() rejects, as on a driver that refuses a device;
//   'lose-device'     devices are recorded so that loseDevices() can destroy them mid-session
//                     (GPUDevice.destroy(), as when the GPU process is lost);
//   parityOffset      every float read back from the GPU is off by this much, so the backend's
//                     self-test sees the GPU disagree with the CPU.

const devices = [];

export function installFault(fault, { parityOffset = 0 } = {}) {
  if (typeof GPUAdapter === 'undefined') return;
  if (fault === 'no-adapter') {
    Object.defineProperty(navigator.gpu, 'requestAdapter', { value: async () => null });
  }
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    if (fault === 'request-device') throw new Error('requestDevice failed (test fault)');
    const device = await requestDevice.apply(this, args);
    devices.push(device);
    return device;
  };
  if (parityOffset) {
    const mapAsync = GPUBuffer.prototype.mapAsync;
    const getMappedRange = GPUBuffer.prototype.getMappedRange;
    const reading = new WeakSet();
    GPUBuffer.prototype.mapAsync = function (mode, ...rest) {
      if (mode & GPUMapMode.READ) reading.add(this);
      return mapAsync.call(this, mode, ...rest);
    };
    GPUBuffer.prototype.getMappedRange = function (...args) {
      const range = getMappedRange.apply(this, args);
      if (reading.has(this)) {
        const floats = new Float32Array(range, 0, Math.floor(range.byteLength / 4));
        for (let i = 0; i < floats.length; i++) floats[i] += parityOffset;
      }
      return range;
    };
  }
}

/** Destroys every GPU device created since installFault('lose-device'); returns how many. */
export function loseDevices() {
  for (const device of devices) device.destroy();
  return devices.length;
}
