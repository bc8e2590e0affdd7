import { z } from 'zod';

/**
 * The observation every producer (simulator, ROS robot, dataset reader) emits and every
 * consumer (policy, critic, recorder) reads. Images are row-major HxWx3 uint8 RGB.
 */
export const CameraFrameSchema = z
  .object({
    width: z.number().int().positive().describe('image width in pixels'),
    height: z.number().int().positive().describe('image height in pixels'),
    rgb: z.instanceof(Uint8Array).describe('H*W*3 uint8 RGB, row-major, row 0 at the top'),
    depth: z.instanceof(Float32Array).optional().describe('H*W metres along the optical axis; Infinity where no hit'),
    segmentation: z.instanceof(Int32Array).optional().describe('H*W MuJoCo geom id; -1 where no hit'),
  })
  .superRefine((f, ctx) => {
    const n = f.width * f.height;
    if (f.rgb.length !== n * 3) ctx.addIssue({ code: 'custom', path: ['rgb'], message: `expected ${n * 3} bytes (H*W*3), got ${f.rgb.length}` });
    if (f.depth && f.depth.length !== n) ctx.addIssue({ code: 'custom', path: ['depth'], message: `expected ${n} values (H*W), got ${f.depth.length}` });
    if (f.segmentation && f.segmentation.length !== n)
      ctx.addIssue({ code: 'custom', path: ['segmentation'], message: `expected ${n} values (H*W), got ${f.segmentation.length}` });
  });
export type CameraFrame = z.infer<typeof CameraFrameSchema>;

export const ObservationSchema = z.object({
  state: z.instanceof(Float32Array).describe('observation.state: per arm joint positions (rad) then gripper (0 open .. 1 closed)'),
  images: z.record(z.string(), CameraFrameSchema).describe('observation.images.<camera>'),
  task: z.string().min(1).describe('natural-language instruction'),
});
export type Observation = z.infer<typeof ObservationSchema>;

/** One robot action: per arm, joint targets or an end-effector delta, then the gripper command. */
export type Action = Float32Array;
