/**
 * Images per second of the ray-cast camera (sim/camera.ts) on one core, RGB + depth, on a
 * tabletop scene of the kind the tasks use (table, 7-link capsule arm, gripper, a few objects).
 * Warm-up first: the wasm runs slowly for its first second while it is optimised.
 *
 *   node --import tsx bench/camera_speed.ts [--seconds 2] [--mjcf assets/tasks/pick_place.xml --camera front]
 *
 * Nearly all the time is inside mj_multiRay (~93% at 64x64); it grows with the number of
 * visible geoms and pixels.
 */
import { parseArgs } from 'node:util';
import { RayCamera } from '../sim/camera.ts';
import { getMujoco, loadModel, loadModelFromString } from '../sim/mujoco_loader.ts';

const SCENE = `
<mujoco model="camera-bench">
  <size memory="1M"/>
  <asset><material name="wood" rgba="0.6 0.45 0.3 1"/></asset>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1" rgba="0.5 0.5 0.5 1"/>
    <geom name="table" type="box" size="0.5 0.4 0.02" pos="0.4 0 0.4" material="wood"/>
    <geom name="table_collision" type="box" size="0.5 0.4 0.2" pos="0.4 0 0.2" group="3"/>
    <body name="l1" pos="0 0 0.42">
      <joint type="hinge" axis="0 0 1"/><geom type="capsule" fromto="0 0 0 0 0 0.2" size="0.04" rgba="0.9 0.9 0.9 1"/>
      <body name="l2" pos="0 0 0.2"><joint type="hinge" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.15 0 0.15" size="0.035" rgba="0.9 0.9 0.9 1"/>
        <body name="l3" pos="0.15 0 0.15"><joint type="hinge" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.03" rgba="0.2 0.2 0.2 1"/>
          <body name="l4" pos="0.2 0 0"><joint type="hinge" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.1 0 -0.1" size="0.03" rgba="0.9 0.9 0.9 1"/>
            <body name="hand" pos="0.1 0 -0.1"><geom type="box" size="0.02 0.05 0.02" rgba="0.3 0.3 0.3 1"/>
              <geom type="box" size="0.01 0.005 0.03" pos="0 0.03 -0.04" rgba="0.3 0.3 0.3 1"/>
              <geom type="box" size="0.01 0.005 0.03" pos="0 -0.03 -0.04" rgba="0.3 0.3 0.3 1"/>
            </body>
          </body>
        </body>
      </body>
    </body>
    <body name="cube" pos="0.5 0.1 0.445"><freejoint/><geom type="box" size="0.025 0.025 0.025" rgba="0.9 0.1 0.1 1"/></body>
    <body name="ball" pos="0.55 -0.15 0.46"><freejoint/><geom type="sphere" size="0.04" rgba="0.1 0.6 0.9 1"/></body>
    <body name="can" pos="0.35 -0.2 0.47"><freejoint/><geom type="cylinder" size="0.03 0.05" rgba="0.1 0.8 0.2 1"/></body>
    <camera name="front" pos="1.3 0 0.9" xyaxes="0 1 0 -0.5 0 1" fovy="50"/>
  </worldbody>
</mujoco>`;

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, mjcf: { type: 'string' }, camera: { type: 'string', default: 'front' } },
});
const seconds = Number(args.seconds);
const mj = await getMujoco();
const model = args.mjcf ? loadModel(mj, args.mjcf) : loadModelFromString(mj, SCENE, 'camera bench scene');
console.log(`${args.mjcf ?? 'built-in scene'}, camera "${args.camera}", ${model.ngeom} geoms, ${seconds} s per size`);
const data = new mj.MjData(model);
mj.mj_forward(model, data);

for (const size of [64, 96, 224]) {
  const cam = new RayCamera(mj, model, { camera: args.camera, width: size, height: size, depth: true });
  // Warm-up: about one second, so the wasm and the JS loops are optimised before timing.
  const warm = performance.now();
  while (performance.now() - warm < 1000) cam.render(data);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    cam.render(data);
    n++;
  }
  const dt = (performance.now() - t0) / 1000;
  console.log(`${size}x${size} RGB+depth: ${(n / dt).toFixed(0)} images/s (${((1000 * dt) / n).toFixed(2)} ms/image, ${n} images)`);
  cam.dispose();
}
data.delete();
model.delete();
