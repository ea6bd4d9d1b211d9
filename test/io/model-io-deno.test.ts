// saveModelFile / loadModelFile and the synchronous checkpoint writer under Deno, which has its own file API:
// a small script imports the compiled modules from dist/ and saves and reloads files in a temporary folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const MODEL_IO = pathToFileURL(join(ROOT, 'dist', 'sdk', 'io', 'model-io.js')).href;
const SYNC_FILE = pathToFileURL(join(ROOT, 'dist', 'sdk', 'io', 'sync-file.js')).href;

const folder = mkdtempSync(join(tmpdir(), 'qnn-deno-io-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const SCRIPT = `
import { saveModelFile, loadModelFile } from ${JSON.stringify(MODEL_IO)};
import { writeFileAtomicSync, readFileSyncChecked } from ${JSON.stringify(SYNC_FILE)};
const folder = Deno.args[0];
const bytes = Uint8Array.from({ length: 300 }, (_v, i) => (i * 13) & 255);
await saveModelFile(bytes, folder + '/a.qnn');
await saveModelFile(bytes.subarray(0, 5), folder + '/a.qnn');
const viaPath = await loadModelFile(folder + '/a.qnn');
await saveModelFile(bytes, new URL('file://' + folder + '/b.qnn').href);
writeFileAtomicSync(folder + '/c.ckpt', bytes.subarray(10, 20));
const synced = readFileSyncChecked(folder + '/c.ckpt');
let missing = '';
try { await loadModelFile(folder + '/none.qnn'); } catch (error) { missing = error.name + ': ' + error.message; }
console.log('deno-model-io:' + JSON.stringify({ viaPath: [...viaPath], synced: [...synced], missing, files: [...Deno.readDirSync(folder)].map((e) => e.name).sort() }));
`;

// The deno npm package is a dev dependency, so CI always has it and only a partial install skips this test.
test('Deno file save and load', { skip: existsSync(DENO) || process.env.CI ? false : `no Deno at ${DENO}` }, () => {
  const script = join(folder, 'model-io.deno.mjs');
  writeFileSync(script, SCRIPT);
  const runtimeDir = mkdtempSync(join(tmpdir(), 'qnn-deno-xdg-'));
  try {
    const run = spawnSync(DENO, ['run', '--no-check', '--no-lock', `--allow-read=${ROOT},${folder}`, `--allow-write=${folder}`, script, folder], {
      cwd: ROOT,
      env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const line = run.stdout.split('\n').find((l) => l.startsWith('deno-model-io:'));
    assert.ok(line !== undefined, `deno exited with ${run.status}: ${run.stderr}`);
    const result = JSON.parse(line.slice('deno-model-io:'.length)) as { viaPath: number[]; synced: number[]; missing: string; files: string[] };

    const expected = Array.from({ length: 300 }, (_v, i) => (i * 13) & 255);
    assert.deepEqual(result.viaPath, expected.slice(0, 5));
    assert.deepEqual(result.synced, expected.slice(10, 20));
    assert.equal(result.missing, `QnnError: cannot read model file ${folder}/none.qnn: no such file`);
    assert.deepEqual(result.files, ['a.qnn', 'b.qnn', 'c.ckpt', 'model-io.deno.mjs']);
    assert.deepEqual(new Uint8Array(readFileSync(join(folder, 'b.qnn'))), Uint8Array.from(expected));
    assert.deepEqual(readdirSync(folder).filter((name) => name.endsWith('.tmp')), []);
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
});
