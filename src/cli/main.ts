import { Command } from 'commander';
import { registerTasks } from './commands/tasks.ts';
import { registerRender } from './commands/render.ts';
import { registerSim } from './commands/sim.ts';
import { registerDemos } from './commands/demos.ts';
import { registerTrain } from './commands/train.ts';

/** The `flowsteer` command line: one thin file per command under ./commands. */
const program = new Command('flowsteer')
  .description('flowsteer: run, fine-tune and deploy flow-matching robot policies (MuJoCo, ONNX Runtime, ROS 2)')
  .showHelpAfterError();

registerTasks(program);
registerRender(program);
registerSim(program);
registerDemos(program);
registerTrain(program);

await program.parseAsync(process.argv);
