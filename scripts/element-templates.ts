/**
 * `npm run element-templates [-- <folder>]`: writes the Camunda Modeler element templates of every
 * registered activity to <folder>/soar-camunda8.json and soar-camunda7.json (default folder:
 * ./element-templates). Copy them into the Modeler's resources/element-templates folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultRegistry } from '../activities/index.ts';
import { elementTemplates, type Platform } from '../activities/element-templates.ts';

const dir = resolve(process.argv[2] ?? 'element-templates');
await mkdir(dir, { recursive: true });
const activities = defaultRegistry().list();
for (const platform of ['camunda8', 'camunda7'] as Platform[]) {
  const file = join(dir, `soar-${platform}.json`);
  await writeFile(file, JSON.stringify(elementTemplates(activities, platform), null, 2) + '\n');
  process.stdout.write(`${file}: ${activities.length} templates\n`);
}
