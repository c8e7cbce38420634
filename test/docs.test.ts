// The documentation cannot rot: its internal links resolve, its TypeScript blocks type-check
// against the library (or are verbatim excerpts of files the tests run), and the generated API
// reference matches the code.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import ts from 'typescript';
import { API_DIR, ROOT, anchors, codeBlocks, display, links, markdownFiles, read } from './support/markdown.js';

describe('documentation', () => {
  it('has no broken internal link (files and #anchors)', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = read(file);
      for (const target of links(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(resolved)) {
          broken.push(`${display(file)}: ${target} (no such file)`);
        } else if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md')) {
          if (!anchors(read(resolved)).has(anchor)) broken.push(`${display(file)}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('has TypeScript blocks that are verbatim excerpts of real files', () => {
    const wrong: string[] = [];
    for (const file of markdownFiles()) {
      for (const block of codeBlocks(read(file))) {
        if (block.excerptOf === null) continue;
        const source = join(ROOT, block.excerptOf);
        if (!existsSync(source)) {
          wrong.push(`${display(file)}:${String(block.line)}: excerpt of a missing file ${block.excerptOf}`);
        } else if (!normalise(readFileSync(source, 'utf8')).includes(normalise(block.code))) {
          wrong.push(`${display(file)}:${String(block.line)}: not found verbatim in ${block.excerptOf}`);
        }
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('has TypeScript blocks that type-check against the library', function () {
    this.timeout(60_000);
    const snippets = new Map<string, string>();
    const origin = new Map<string, string>();
    for (const file of markdownFiles()) {
      const slug = display(file).replace(/[^a-zA-Z0-9]+/g, '_');
      codeBlocks(read(file))
        .filter((b) => (b.language === 'ts' || b.language === 'typescript') && b.excerptOf === null)
        .forEach((block, i) => {
          // `// name.ts` on the first line names the file, so later blocks can import it.
          const named = /^\/\/\s*([\w.-]+)\.ts\b/.exec(block.code.split('\n')[0] ?? '');
          const path = join(
            ROOT,
            '.doc-snippets',
            slug,
            named === null ? `block${String(i)}.ts` : `${named[1] ?? ''}.ts`,
          );
          snippets.set(
            path,
            block.code.includes('import') || block.code.includes('export') ? block.code : `${block.code}\nexport {};\n`,
          );
          origin.set(path, `${display(file)}:${String(block.line)}`);
        });
    }
    const diagnostics = typeCheck(snippets);
    const messages = diagnostics.map((d) => {
      const where = d.file === undefined ? '' : (origin.get(d.file.fileName) ?? d.file.fileName);
      const line =
        d.file === undefined || d.start === undefined ? 0 : d.file.getLineAndCharacterOfPosition(d.start).line;
      return `${where} (+${String(line)}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(messages).to.deep.equal([]);
  });

  it('has an API reference (docs/reference/api) generated from the current code: `npm run docs:api`', async function () {
    this.timeout(120_000);
    const out = mkdtempSync(join(tmpdir(), 'slotwise-api-'));
    try {
      const typedoc = join(ROOT, 'node_modules/typedoc/bin/typedoc');
      await promisify(execFile)(process.execPath, [typedoc, '--out', out, '--logLevel', 'Error'], { cwd: ROOT });
      expect(tree(API_DIR), 'docs/reference/api is stale: run `npm run docs:api`').to.deep.equal(tree(out));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

function normalise(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Every file under `dir`, by relative path, with its contents. */
function tree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

/**
 * Type-checks in-memory modules (their paths under the repository, so that `slotwise` resolves
 * to this package itself through its `exports`) with the project's compiler options, unused
 * names allowed: a snippet may show a value it does not use.
 */
function typeCheck(snippets: ReadonlyMap<string, string>): readonly ts.Diagnostic[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
  };
  const host = ts.createCompilerHost(options);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  const directories = new Set([...snippets.keys()].map((path) => dirname(path)));
  const directoryExists = host.directoryExists?.bind(host);
  host.directoryExists = (name) => directories.has(name) || (directoryExists?.(name) ?? false);
  host.fileExists = (name) => snippets.has(name) || fileExists(name);
  host.readFile = (name) => snippets.get(name) ?? readFile(name);
  host.getSourceFile = (name, language, onError, create) => {
    const text = snippets.get(name);
    return text === undefined
      ? getSourceFile(name, language, onError, create)
      : ts.createSourceFile(name, text, language);
  };
  const program = ts.createProgram([...snippets.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || snippets.has(d.file.fileName));
}
