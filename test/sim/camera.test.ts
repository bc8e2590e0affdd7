import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RayCamera, cameraNames, projectToPixel } from '../../sim/camera.ts';
import { getMujoco, loadModelFromString, type MjData, type MjModel, type Mujoco } from '../../sim/mujoco_loader.ts';

// Floor (1 m half-size, so the side camera sees sky above its far edge), a red and a green box
// on free joints, a sphere coloured by a material, and a big collision-only box in group 3
// that must stay hidden by default (it would cover everything).
const XML = `
<mujoco>
  <asset><material name="blue" rgba="0.2 0.3 0.9 1"/></asset>
  <worldbody>
    <geom name="floor" type="plane" size="1 1 0.1" rgba="0.6 0.6 0.6 1"/>
    <body name="red" pos="0 0 0.05"><freejoint/><geom name="red" type="box" size="0.05 0.05 0.05" rgba="1 0 0 1"/></body>
    <body name="green" pos="0.2 0.1 0.05"><freejoint/><geom name="green" type="box" size="0.05 0.05 0.05" rgba="0 1 0 1"/></body>
    <geom name="ball" type="sphere" size="0.06" pos="-0.2 0.1 0.06" material="blue"/>
    <geom name="hull" type="box" size="0.3 0.3 0.3" group="3" rgba="1 0 1 1"/>
    <camera name="side" pos="0 -0.8 0.8" xyaxes="1 0 0 0 1 1" fovy="45"/>
    <camera name="top" pos="0 0 2" fovy="30"/>
  </worldbody>
</mujoco>`;

let mj: Mujoco;
let model: MjModel;
let data: MjData;
const geomId = (name: string) => mj.mj_name2id(model, mj.mjtObj.mjOBJ_GEOM.value, name);

/** Mean (u, v) = (column, row) of the pixels where `mask` holds, and their count. */
function centroid(width: number, height: number, mask: (i: number) => boolean): { u: number; v: number; count: number } {
  let su = 0;
  let sv = 0;
  let count = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if (mask(r * width + c)) {
        su += c;
        sv += r;
        count++;
      }
    }
  }
  return { u: su / count, v: sv / count, count };
}

function setRedBoxPosition(x: number, y: number, z: number): void {
  const body = mj.mj_name2id(model, mj.mjtObj.mjOBJ_BODY.value, 'red');
  const adr = (model.jnt_qposadr as Int32Array)[(model.body_jntadr as Int32Array)[body]!]!;
  const qpos = data.qpos as Float64Array; // fresh view, written at once
  qpos[adr] = x;
  qpos[adr + 1] = y;
  qpos[adr + 2] = z;
  mj.mj_forward(model, data);
}

beforeAll(async () => {
  mj = await getMujoco();
  model = loadModelFromString(mj, XML, 'camera test scene');
  data = new mj.MjData(model);
  mj.mj_forward(model, data);
});

afterAll(() => {
  data?.delete();
  model?.delete();
});

describe('RayCamera', () => {
  it.each(['side', 'top'])('puts the red box where projectToPixel says (%s camera)', (name) => {
    setRedBoxPosition(0, 0, 0.05);
    const W = 64;
    const H = 64;
    const cam = new RayCamera(mj, model, { camera: name, width: W, height: H, segmentation: true });
    try {
      const f = cam.render(data);
      const red = geomId('red');
      const seg = f.segmentation!;
      const isRedColour = (i: number) => f.rgb[3 * i]! > 50 && f.rgb[3 * i + 1]! < 30 && f.rgb[3 * i + 2]! < 30;
      // Colour and segmentation agree pixel for pixel.
      for (let i = 0; i < W * H; i++) expect(isRedColour(i), `pixel ${i}`).toBe(seg[i] === red);
      const c = centroid(W, H, (i) => seg[i] === red);
      expect(c.count).toBeGreaterThan(10);
      const p = projectToPixel(model, data, name, W, H, [0, 0, 0.05])!;
      // Measured <= 0.25 px; 0.4 still catches a half-pixel convention slip between the two.
      expect(Math.hypot(c.u - p.u, c.v - p.v)).toBeLessThan(0.4);
    } finally {
      cam.dispose();
    }
  });

  it('gives depth along the optical axis, exact on flat faces (top camera, 2 m above the floor)', () => {
    setRedBoxPosition(0, 0, 0.05);
    const cam = new RayCamera(mj, model, { camera: 'top', width: 64, height: 64, depth: true, segmentation: true });
    try {
      const f = cam.render(data);
      const depth = f.depth!;
      const seg = f.segmentation!;
      const p = projectToPixel(model, data, 'top', 64, 64, [0, 0, 0.1])!; // centre of the box's top face
      expect(p.depth).toBeCloseTo(1.9, 12);
      const centre = Math.round(p.v) * 64 + Math.round(p.u);
      expect(seg[centre]).toBe(geomId('red'));
      expect(Math.abs(depth[centre]! - 1.9)).toBeLessThan(1e-3);
      // Not the ray length: every pixel on the top face and on the floor has the same depth.
      let floorPixels = 0;
      for (let i = 0; i < depth.length; i++) {
        if (seg[i] === geomId('red')) expect(depth[i]).toBeCloseTo(1.9, 5);
        if (seg[i] === geomId('floor')) {
          expect(depth[i]).toBeCloseTo(2, 5);
          floorPixels++;
        }
      }
      expect(floorPixels).toBeGreaterThan(3000);
    } finally {
      cam.dispose();
    }
  });

  it('matches an analytic floor intersection on an oblique camera, and shows sky where nothing is hit', () => {
    const N = 65; // odd: the optical axis passes through the centre of pixel (32, 32)
    const cam = new RayCamera(mj, model, { camera: 'side', width: N, height: N, depth: true, segmentation: true, background: [1, 2, 3] });
    try {
      const f = cam.render(data);
      // Camera at (0, -0.8, 0.8), axes X = (1,0,0), Y = (0,1,1)/sqrt2, Z = (0,-1,1)/sqrt2 (from the MJCF).
      // Pixel (r, c) looks along x X + y Y - Z with x = (c-32)/f, y = (32-r)/f; the floor z = 0
      // is reached at t = 0.8 / ((1 - y)/sqrt2), and t is the depth since the Z component is -1.
      const fpx = N / 2 / Math.tan((22.5 * Math.PI) / 180);
      for (const [r, c] of [
        [60, 5],
        [50, 50],
        [40, 10],
      ] as const) {
        const i = r * N + c;
        expect(f.segmentation![i]).toBe(geomId('floor'));
        const y = (32 - r) / fpx;
        expect(Math.abs(f.depth![i]! - 0.8 / ((1 - y) / Math.SQRT2))).toBeLessThan(1e-5);
      }
      // The top row looks past the floor's far edge (22.5 deg below the horizon lands at y = 1.13 m).
      for (let c = 0; c < N; c++) {
        expect(f.segmentation![c]).toBe(-1);
        expect(f.depth![c]).toBe(Infinity);
        expect([...f.rgb.subarray(3 * c, 3 * c + 3)]).toEqual([1, 2, 3]);
      }
    } finally {
      cam.dispose();
    }
  });

  it('moves the box pixels with the box', () => {
    const cam = new RayCamera(mj, model, { camera: 'side', width: 64, height: 64, segmentation: true });
    try {
      const red = geomId('red');
      setRedBoxPosition(0, 0, 0.05);
      const segBefore = cam.render(data).segmentation!;
      const before = centroid(64, 64, (i) => segBefore[i] === red);
      setRedBoxPosition(0.12, 0, 0.05);
      const seg = cam.render(data).segmentation!;
      const after = centroid(64, 64, (i) => seg[i] === red);
      const p = projectToPixel(model, data, 'side', 64, 64, [0.12, 0, 0.05])!;
      expect(after.u - before.u).toBeGreaterThan(5); // +x world is +u (right) in this camera
      expect(Math.hypot(after.u - p.u, after.v - p.v)).toBeLessThan(0.4);
    } finally {
      setRedBoxPosition(0, 0, 0.05);
      cam.dispose();
    }
  });

  it('renders identical bytes for the same state', () => {
    const a = new RayCamera(mj, model, { camera: 'side', width: 48, height: 32, depth: true, segmentation: true });
    const b = new RayCamera(mj, model, { camera: 'side', width: 48, height: 32, depth: true, segmentation: true });
    const data2 = new mj.MjData(model);
    try {
      mj.mj_forward(model, data2);
      const f1 = a.render(data);
      const f2 = a.render(data);
      const f3 = b.render(data2);
      for (const f of [f2, f3]) {
        expect(Buffer.from(f.rgb).equals(Buffer.from(f1.rgb))).toBe(true);
        expect(Buffer.from(f.depth!.buffer).equals(Buffer.from(f1.depth!.buffer))).toBe(true);
        expect(Buffer.from(f.segmentation!.buffer).equals(Buffer.from(f1.segmentation!.buffer))).toBe(true);
      }
      expect(f1.rgb).not.toBe(f2.rgb); // fresh arrays: a stored frame is never overwritten
    } finally {
      a.dispose();
      b.dispose();
      data2.delete();
    }
  });

  it('hides group 3 by default and shows it when asked; colours material geoms by their material', () => {
    const hidden = new RayCamera(mj, model, { camera: 'top', width: 32, height: 32, segmentation: true });
    const shown = new RayCamera(mj, model, { camera: 'top', width: 32, height: 32, segmentation: true, geomGroups: [0, 1, 2, 3] });
    try {
      const hull = geomId('hull');
      const fh = hidden.render(data);
      expect(fh.segmentation!.includes(hull)).toBe(false);
      expect(shown.render(data).segmentation!.includes(hull)).toBe(true);
      const ball = fh.segmentation!.indexOf(geomId('ball'));
      expect(ball).toBeGreaterThanOrEqual(0);
      const [r, g, b] = fh.rgb.subarray(3 * ball, 3 * ball + 3);
      expect(b!).toBeGreaterThan(2 * r!);
      expect(b!).toBeGreaterThan(2 * g!);
    } finally {
      hidden.dispose();
      shown.dispose();
    }
  });

  it('names the camera and lists the available ones when the camera is unknown', () => {
    expect(cameraNames(model)).toEqual(['side', 'top']);
    expect(() => new RayCamera(mj, model, { camera: 'wrist', width: 8, height: 8 })).toThrow(
      'camera "wrist" not found in the model; available cameras: "side", "top"',
    );
    expect(() => projectToPixel(model, data, 'wrist', 8, 8, [0, 0, 0])).toThrow(/"wrist".*"side", "top"/);
  });

  it('rejects bad options and use after dispose', () => {
    expect(() => new RayCamera(mj, model, { camera: 'top', width: 0, height: 8 })).toThrow(/width/);
    expect(() => new RayCamera(mj, model, { camera: 'top', width: 8, height: 8, geomGroups: [6] })).toThrow(/geomGroups/);
    const cam = new RayCamera(mj, model, { camera: 'top', width: 8, height: 8 });
    cam.dispose();
    cam.dispose(); // idempotent
    expect(() => cam.render(data)).toThrow(/after dispose/);
  });

  it('projects points behind the camera to null', () => {
    expect(projectToPixel(model, data, 'top', 64, 64, [0, 0, 3])).toBeNull();
    const p = projectToPixel(model, data, 'top', 64, 64, [0, 0, 0])!;
    expect(p.u).toBeCloseTo(31.5, 12);
    expect(p.v).toBeCloseTo(31.5, 12);
    expect(p.depth).toBeCloseTo(2, 12);
  });
});
