// Writes the two app icons as PNGs (192x192 colour, 32x32 transparent white outline) with zlib only.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(pixel(x, y), y * (size * 4 + 1) + 1 + x * 4);
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type), data])) >>> 0);
    return Buffer.concat([length, Buffer.from(type), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// A rounded house shape: Early Help's home visits. Colour icon: white house on blue.
function inHouse(x, y, size) {
  const u = x / size;
  const v = y / size;
  const roof = v >= 0.2 && v <= 0.5 && Math.abs(u - 0.5) <= (v - 0.2) * 1.2;
  const walls = v > 0.5 && v <= 0.8 && u >= 0.25 && u <= 0.75;
  const door = v > 0.6 && v <= 0.8 && u >= 0.45 && u <= 0.55;
  return (roof || walls) && !door;
}
fs.writeFileSync(path.join(__dirname, 'color.png'), png(192, (x, y) => (inHouse(x, y, 192) ? [255, 255, 255, 255] : [46, 94, 140, 255])));
fs.writeFileSync(path.join(__dirname, 'outline.png'), png(32, (x, y) => (inHouse(x, y, 32) ? [255, 255, 255, 255] : [0, 0, 0, 0])));
