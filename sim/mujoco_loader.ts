import loadMujoco, { type MainModule, type MjModel } from '@mujoco/mujoco';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/core/errors.ts';

export type Mujoco = MainModule;
export type { MjModel, MjData } from '@mujoco/mujoco';

/** Repository `assets/` folder (MJCF robots, scenes, task scenes). */
export const ASSETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'assets');
/** Where `assets/` is mirrored inside MuJoCo's virtual filesystem, so includes and model assets resolve. */
const VFS_ASSETS = '/assets';

let mujocoPromise: Promise<Mujoco> | undefined;
let assetsMounted = false;

/** The MuJoCo wasm module, loaded once per thread (loading takes ~0.3 s and ~20 MB). */
export function getMujoco(): Promise<Mujoco> {
  mujocoPromise ??= loadMujoco() as Promise<Mujoco>;
  return mujocoPromise;
}

function copyIntoVfs(mj: Mujoco, hostDir: string, vfsDir: string): void {
  try {
    mj.FS.mkdir(vfsDir);
  } catch {
    // exists already
  }
  for (const name of readdirSync(hostDir)) {
    const hostPath = join(hostDir, name);
    if (statSync(hostPath).isDirectory()) copyIntoVfs(mj, hostPath, `${vfsDir}/${name}`);
    else if (/\.(xml|stl|obj|png|msh)$/i.test(name)) mj.FS.writeFile(`${vfsDir}/${name}`, readFileSync(hostPath));
  }
}

/**
 * Compiles an MJCF file. Paths inside `assets/` load through the mirrored virtual FS so
 * `<include>`, `<model file=...>` and mesh files resolve; other paths are copied with their folder.
 * Errors name the file and carry MuJoCo's message (which names the line).
 */
export function loadModel(mj: Mujoco, xmlPath: string): MjModel {
  const hostPath = resolve(xmlPath);
  if (!existsSync(hostPath)) throw new UserError(`MJCF file not found: ${xmlPath}`);
  let vfsPath: string;
  const rel = relative(ASSETS_DIR, hostPath);
  if (!rel.startsWith('..')) {
    if (!assetsMounted) {
      copyIntoVfs(mj, ASSETS_DIR, VFS_ASSETS);
      assetsMounted = true;
    }
    vfsPath = `${VFS_ASSETS}/${rel}`;
  } else {
    const dir = `/external_${Math.random().toString(36).slice(2)}`;
    copyIntoVfs(mj, dirname(hostPath), dir);
    vfsPath = `${dir}/${hostPath.split('/').pop()}`;
  }
  try {
    return mj.MjModel.from_xml_path(vfsPath);
  } catch (err) {
    throw new UserError(`cannot compile MJCF ${xmlPath}: ${mujocoErrorMessage(mj, err)}`);
  }
}

/** Compiles MJCF text (tests, generated scenes). */
export function loadModelFromString(mj: Mujoco, xml: string, label = '<string>'): MjModel {
  try {
    return mj.MjModel.from_xml_string(xml);
  } catch (err) {
    throw new UserError(`cannot compile MJCF ${label}: ${mujocoErrorMessage(mj, err)}`);
  }
}

/** Emscripten throws either an Error or a raw pointer to a C++ exception; get readable text from both. */
function mujocoErrorMessage(mj: Mujoco, err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'number') {
    const anyMj = mj as unknown as { getExceptionMessage?: (e: number) => [string, string] };
    if (anyMj.getExceptionMessage) {
      try {
        return anyMj.getExceptionMessage(err).join(': ');
      } catch {
        // fall through
      }
    }
  }
  return String(err);
}
