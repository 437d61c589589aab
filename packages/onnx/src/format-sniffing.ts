/**
 * Recognise common files that are not ONNX models, so the user hears "this is a TFLite file" rather than a
 * protobuf parse error.
 */
const startsWith = (bytes: Uint8Array, text: string, offset = 0): boolean => {
  if (bytes.length < offset + text.length) return false;
  for (let index = 0; index < text.length; index++) {
    if (bytes[offset + index] !== text.charCodeAt(index)) return false;
  }
  return true;
};

export function sniffOtherFormat(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, 'TFL3', 4)) return 'a TensorFlow Lite flatbuffer';
  if (startsWith(bytes, 'PK\u0003\u0004')) return 'a ZIP archive (a PyTorch, Keras or NumPy .npz file?)';
  if (startsWith(bytes, '\u0089HDF')) return 'an HDF5 file (a Keras .h5 model?)';
  if (startsWith(bytes, '\u0089PNG')) return 'a PNG image';
  if (startsWith(bytes, '\u00ff\u00d8\u00ff')) return 'a JPEG image';
  if (startsWith(bytes, 'GGUF')) return 'a GGUF file';
  if (startsWith(bytes, '\u0093NUMPY')) return 'a NumPy .npy array';
  if (startsWith(bytes, '<?xml') || startsWith(bytes, '<net')) return 'an XML document (an OpenVINO IR .xml?)';
  if (bytes.length >= 10 && bytes[8] === 0x7b && bytes[9] === 0x22 && bytes[4] === 0 && bytes[5] === 0) {
    return 'a safetensors file';
  }
  let first = 0;
  while (
    first < bytes.length &&
    first < 64 &&
    (bytes[first] === 0x20 || bytes[first] === 0x0a || bytes[first] === 0x0d || bytes[first] === 0x09)
  )
    first++;
  if (bytes[first] === 0x7b || bytes[first] === 0x5b) return 'a JSON document';
  if (startsWith(bytes, '\u007fELF')) return 'an executable';
  return undefined;
}
