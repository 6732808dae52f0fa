/**
 * A talking head's geometry, built in code: an ellipsoid whose mouth is a real opening (the lip line is a
 * latitude ring split in two, upper and lower lip, joined at the corners), plus one set of vertex positions per
 * viseme (the 15 `viseme_*` morph targets). Pure math: no Babylon, so it is tested directly (tests/sample-game).
 *
 * Local space: metres, head centre at the origin, y up, the face looking down +z.
 */
import { VISEMES } from '../../protocol/visemes.ts';
import { MOUTH_SHAPES, type MouthShape } from './mouth-shapes.ts';

export interface HeadDimensions {
  /** half-width, half-height, half-depth of the skull (metres) */
  rx: number;
  ry: number;
  rz: number;
}

export const DEFAULT_HEAD: HeadDimensions = { rx: 0.1, ry: 0.13, rz: 0.115 };

/** Latitude of the lip line (radians below the equator) and half the mouth's angular width. */
export const MOUTH_LATITUDE = -0.4;
export const MOUTH_HALF_ANGLE = 0.5;

/** Largest displacements, metres: how far the lower lip drops at `jaw` 1, etc. */
const JAW_DROP = 0.032;
const UPPER_LIFT = 0.007;
const TUCK_LIFT = 0.007;
const TUCK_BACK = 0.012;
const ROUND_FORWARD = 0.014;
const PRESS_IN = 0.006;
const LIP_BULGE = 0.006;

const ROWS = 32; // latitude steps, pole to pole
const COLUMNS = 64; // longitude steps; the seam is at the back of the head

export interface HeadGeometry {
  positions: Float32Array;
  normals: Float32Array;
  indices: Uint32Array;
  /** per vertex: -1 lower face (jaw side), +1 upper face, 0 on the lip line outside the mouth opening */
  side: Int8Array;
  /** one position array per viseme, in `VISEMES` order (index 0 = sil = the rest pose) */
  targets: Float32Array[];
  targetNormals: Float32Array[];
  /** vertex indices of the lower and upper lip edges at the centre of the mouth */
  lowerLipCentre: number;
  upperLipCentre: number;
}

const gauss = (x: number, w: number) => Math.exp(-(x / w) * (x / w));

/** Narrow window across the mouth opening: 1 at the centre, 0 at the corners. */
function mouthWindow(phi: number): number {
  const u = phi / MOUTH_HALF_ANGLE;
  return Math.abs(u) >= 1 ? 0 : Math.pow(1 - u * u, 0.6);
}

/** Wide window for the cheeks and chin that move with the mouth. */
function faceWindow(phi: number): number {
  const w = MOUTH_HALF_ANGLE * 1.8;
  return Math.abs(phi) >= w ? 0 : Math.cos((Math.PI / 2) * (phi / w)) ** 2;
}

/** Offset of one vertex for a mouth shape. `side` -1 lower face, +1 upper face. */
function offset(theta: number, phi: number, side: number, x0: number, s: MouthShape): [number, number, number] {
  const d = theta - MOUTH_LATITUDE;
  const lipLower = side < 0 ? gauss(d, 0.1) : 0;
  const lipUpper = side > 0 ? gauss(d, 0.08) : 0;
  // the whole lower face follows the jaw, fading out towards the bottom of the head
  const chin = side < 0 ? Math.min(1, Math.max(0, (theta + 1.3) / (MOUTH_LATITUDE + 1.3))) : 0;
  const band = gauss(d, 0.14);
  const w1 = mouthWindow(phi);
  const w2 = faceWindow(phi);
  const dy =
    -s.jaw * JAW_DROP * (0.55 * lipLower * w1 + 0.45 * chin * w2) +
    s.upper * UPPER_LIFT * lipUpper * w1 +
    s.tuck * TUCK_LIFT * lipLower * w1;
  const dz =
    -s.tuck * TUCK_BACK * lipLower * w1 +
    s.round * ROUND_FORWARD * band * w1 -
    s.press * (PRESS_IN + LIP_BULGE) * (lipLower + lipUpper) * w1 -
    s.jaw * 0.008 * chin * w2;
  // spreading and rounding move the corners most: a window wider than the mouth, so the corners get most of it
  const dx = x0 * (s.width * 0.4 - s.round * 0.45 + s.press * 0.05) * band * faceWindow(phi / 1.2);
  return [dx, dy, dz];
}

export function buildHeadGeometry(dim: HeadDimensions = DEFAULT_HEAD): HeadGeometry {
  // latitudes: a uniform grid plus the lip line, which appears twice (upper and lower lip)
  const thetas: number[] = [];
  for (let r = 0; r <= ROWS; r++) thetas.push(-Math.PI / 2 + (Math.PI * r) / ROWS);
  thetas.push(MOUTH_LATITUDE);
  thetas.sort((a, b) => a - b);
  const mouthRow = thetas.indexOf(MOUTH_LATITUDE);
  const phis: number[] = [];
  for (let c = 0; c <= COLUMNS; c++) phis.push(-Math.PI + (2 * Math.PI * c) / COLUMNS);
  const inOpening = (c: number) => Math.abs(phis[c]) < MOUTH_HALF_ANGLE;

  const pos: number[] = [];
  const meta: { theta: number; phi: number; side: number }[] = [];
  const add = (theta: number, phi: number, side: number) => {
    const ct = Math.cos(theta);
    const bulge = LIP_BULGE * mouthWindow(phi) * gauss(theta - MOUTH_LATITUDE, 0.07);
    pos.push(dim.rx * ct * Math.sin(phi), dim.ry * Math.sin(theta), dim.rz * ct * Math.cos(phi) + bulge);
    meta.push({ theta, phi, side });
    return meta.length - 1;
  };
  const grid: number[][] = thetas.map((theta, r) =>
    phis.map((phi, c) => add(theta, phi, r < mouthRow ? -1 : r > mouthRow ? 1 : inOpening(c) ? 1 : 0)),
  );
  // the lower lip: its own vertices across the opening, the same points as the upper lip at rest
  const lower: number[] = grid[mouthRow].slice();
  phis.forEach((phi, c) => {
    if (inOpening(c)) lower[c] = add(MOUTH_LATITUDE, phi, -1);
  });

  const idx: number[] = [];
  for (let r = 0; r < thetas.length - 1; r++) {
    // the strip just under the lip line ends on the lower lip; the one above starts from the upper lip
    const bottom = grid[r];
    const top = r + 1 === mouthRow ? lower : grid[r + 1];
    for (let c = 0; c < COLUMNS; c++) {
      const a = bottom[c], b = bottom[c + 1], d = top[c], e = top[c + 1];
      // wound so that (b − a) × (d − a) points out of the head
      idx.push(a, d, b, b, d, e);
    }
  }

  const n = meta.length;
  const base = Float32Array.from(pos);
  const side = Int8Array.from(meta.map((m) => m.side));
  const targets = VISEMES.map((v) => {
    const shape = MOUTH_SHAPES[v];
    const out = Float32Array.from(base);
    for (let i = 0; i < n; i++) {
      const { theta, phi, side: sd } = meta[i];
      let o: [number, number, number];
      if (sd === 0) {
        // the lip line beside the opening: halfway between what the lips above and below do
        const up = offset(theta, phi, 1, base[i * 3], shape);
        const lo = offset(theta, phi, -1, base[i * 3], shape);
        o = [(up[0] + lo[0]) / 2, (up[1] + lo[1]) / 2, (up[2] + lo[2]) / 2];
      } else {
        o = offset(theta, phi, sd, base[i * 3], shape);
      }
      out[i * 3] += o[0];
      out[i * 3 + 1] += o[1];
      out[i * 3 + 2] += o[2];
    }
    return out;
  });
  const indices = Uint32Array.from(idx);
  const centre = COLUMNS / 2;
  return {
    positions: base,
    normals: computeNormals(base, indices),
    indices,
    side,
    targets,
    targetNormals: targets.map((t) => computeNormals(t, indices)),
    lowerLipCentre: lower[centre],
    upperLipCentre: grid[mouthRow][centre],
  };
}

/** Area-weighted vertex normals; vertices only on degenerate faces (the poles) fall back to the radial direction. */
export function computeNormals(p: Float32Array, indices: Uint32Array): Float32Array {
  const nrm = new Float32Array(p.length);
  for (let k = 0; k < indices.length; k += 3) {
    const a = indices[k] * 3, b = indices[k + 1] * 3, c = indices[k + 2] * 3;
    const ux = p[b] - p[a], uy = p[b + 1] - p[a + 1], uz = p[b + 2] - p[a + 2];
    const vx = p[c] - p[a], vy = p[c + 1] - p[a + 1], vz = p[c + 2] - p[a + 2];
    // (c − a) × (b − a): outward for the winding above
    const nx = vy * uz - vz * uy, ny = vz * ux - vx * uz, nz = vx * uy - vy * ux;
    for (const i of [a, b, c]) {
      nrm[i] += nx;
      nrm[i + 1] += ny;
      nrm[i + 2] += nz;
    }
  }
  for (let i = 0; i < nrm.length; i += 3) {
    let l = Math.hypot(nrm[i], nrm[i + 1], nrm[i + 2]);
    if (l < 1e-12) {
      nrm[i] = p[i];
      nrm[i + 1] = p[i + 1];
      nrm[i + 2] = p[i + 2];
      l = Math.hypot(nrm[i], nrm[i + 1], nrm[i + 2]) || 1;
    }
    nrm[i] /= l;
    nrm[i + 1] /= l;
    nrm[i + 2] /= l;
  }
  return nrm;
}
