// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU) on inputs read from raw files, and writes the outputs
// as raw files. Used by the tensor specs and examples/export_onnx.lua to check exported models.
//
//   node tools/onnxruntime/run.js MODEL.onnx DIR
//
// DIR/inputs.txt lists the inputs, one per line: name <TAB> dtype <TAB> dims (comma-separated, empty for 0-d)
// <TAB> file (raw little-endian values, row-major, relative to DIR). The outputs are written the same way:
// DIR/outputs.txt and one raw file per output (output<k>.bin), in the model's output order.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, uint16: Uint16Array, float16: Uint16Array,
};

function readInputs(dir) {
  const feeds = {};
  const text = fs.readFileSync(path.join(dir, 'inputs.txt'), 'utf8');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [name, dtype, dimsText, file] = line.split('\t');
    const Array = ARRAYS[dtype];
    if (!Array) throw new Error(`run.js: unsupported dtype ${dtype}`);
    const dims = dimsText === '' ? [] : dimsText.split(',').map(Number);
    const bytes = fs.readFileSync(path.join(dir, file));
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    const data = new Array(copy.buffer, 0, bytes.length / Array.BYTES_PER_ELEMENT);
    feeds[name] = new ort.Tensor(dtype, data, dims);
  }
  return feeds;
}

async function main() {
  const [modelPath, dir] = process.argv.slice(2);
  if (!modelPath || !dir) {
    console.error('usage: node run.js MODEL.onnx DIR');
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const results = await session.run(readInputs(dir));
  const lines = [];
  session.outputNames.forEach((name, k) => {
    const t = results[name];
    const data = t.data;
    const file = `output${k + 1}.bin`;
    fs.writeFileSync(path.join(dir, file), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    lines.push([name, t.type, t.dims.join(','), file].join('\t'));
  });
  fs.writeFileSync(path.join(dir, 'outputs.txt'), lines.join('\n') + '\n');
}

main().catch((err) => {
  console.error(`run.js: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
