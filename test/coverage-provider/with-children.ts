// @vitest/coverage-v8's provider, which also counts the packages' built code that ran in
// processes the tests started (see ./provider.ts), and reports each package on its own.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeProcessCovs, type ProcessCov } from '@bcoe/v8-coverage';
import { V8CoverageProvider } from '@vitest/coverage-v8/dist/provider.js';
import convert from 'ast-v8-to-istanbul';
import libCoverage, { type CoverageMap, type CoverageSummary } from 'istanbul-lib-coverage';
import { parseAstAsync, type ReportContext, type Vitest } from 'vitest/node';
import { CHILD_COVERAGE } from './children.js';

/** A package's built module: what the started processes run, mapped back to `src` by its source map. */
const BUILT = /\/packages\/[^/]+\/dist\/[^/]+\.c?js$/;
/** The package a source file belongs to. */
const PACKAGE = /\/packages\/([^/]+)\/src\//;

/** The parts of a source map (tsup's, next to each built module) the conversion reads. */
interface SourceMap {
  version: number;
  sources: string[];
  mappings: string;
  names: string[];
}

export class WithChildProcesses extends V8CoverageProvider {
  #children = '';
  #childFiles: string[] = [];

  override initialize(ctx: Vitest): void {
    super.initialize(ctx);
    this.#children = resolve(this.options.reportsDirectory, '.children');
    // Read by the test helpers that start processes (./children.ts); the workers that run
    // them are started after this, with this environment.
    process.env[CHILD_COVERAGE] = this.#children;
  }

  /**
   * The packages' built modules are counted too: tests reach a package through its `dist`
   * (as its users do), and the counts land on its `src` through the source maps.
   */
  override isIncluded(filename: string, root?: string): boolean {
    return BUILT.test(filename) || super.isIncluded(filename, root);
  }

  override async generateCoverage(context: ReportContext): Promise<CoverageMap> {
    const children = await this.#childProcessCoverage();
    // A file only started processes ran is not "untested" (which would add it again with
    // no counts, from a second reading of its source).
    this.#childFiles = children.files();
    const coverage = await super.generateCoverage(context);
    coverage.merge(children);
    return coverage;
  }

  override getUntestedFiles(testedFiles: string[]): Promise<string[]> {
    return super.getUntestedFiles([...testedFiles, ...this.#childFiles]);
  }

  override async generateReports(coverage: CoverageMap, allTestsRun?: boolean): Promise<void> {
    this.ctx.logger.log(packageTable(coverage));
    await super.generateReports(coverage, allTestsRun);
  }

  override async cleanAfterRun(): Promise<void> {
    await rm(this.#children, { recursive: true, force: true });
    await super.cleanAfterRun();
  }

  /** The started processes' coverage of the packages, summed, on the packages' sources. */
  async #childProcessCoverage(): Promise<CoverageMap> {
    const coverage = this.createCoverageMap();
    if (!existsSync(this.#children)) return coverage;
    const processes: ProcessCov[] = [];
    for (const name of await readdir(this.#children)) {
      if (!name.endsWith('.json')) continue;
      const written = JSON.parse(await readFile(join(this.#children, name), 'utf8')) as ProcessCov;
      processes.push({ result: written.result.filter((script) => BUILT.test(script.url)) });
    }
    for (const script of mergeProcessCovs(processes).result) {
      const file = fileURLToPath(script.url);
      const code = await readFile(file, 'utf8');
      const map = JSON.parse(await readFile(`${file}.map`, 'utf8')) as SourceMap;
      map.sources = map.sources.map((source) => new URL(source, script.url).href);
      coverage.merge(await convert({ code, sourceMap: map, ast: parseAstAsync(code), coverage: script, wrapperLength: 0 }));
    }
    coverage.filter((file) => existsSync(file) && this.isIncluded(file));
    return coverage;
  }
}

const METRICS = ['lines', 'statements', 'functions', 'branches'] as const;

/** One line per package: its lines, statements, functions and branches covered, in percent. */
function packageTable(coverage: CoverageMap): string {
  const packages = new Map<string, CoverageSummary>();
  for (const file of coverage.files()) {
    const name = PACKAGE.exec(file)?.[1];
    if (name === undefined) continue;
    const summary = packages.get(name) ?? libCoverage.createCoverageSummary();
    summary.merge(coverage.fileCoverageFor(file).toSummary());
    packages.set(name, summary);
  }
  const rows = [...packages].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...rows.map(([name]) => name.length), 'package'.length);
  const cell = (text: string) => text.padStart(11);
  const lines = ['\ncoverage per package', `${'package'.padEnd(width)}${METRICS.map(cell).join('')}`];
  for (const [name, summary] of rows) lines.push(`${name.padEnd(width)}${METRICS.map((metric) => cell(`${summary[metric].pct.toFixed(2)}%`)).join('')}`);
  return lines.join('\n');
}
