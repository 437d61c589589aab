import { Graph } from './graph.js';

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface MetadataEntry {
  key: string;
  value: string;
}

export class Model {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  /** In their original order; '' is the default domain. */
  opsetImports: OpsetImport[];
  metadata: MetadataEntry[];
  graph: Graph;
  /**
   * Format-owned parts the IR does not interpret (functions, training info, unknown fields), carried through
   * untouched so that an empty pipeline writes an equivalent file.
   */
  readonly carried: Record<string, unknown> = {};

  constructor(init: Partial<Omit<Model, 'carried'>> = {}) {
    this.irVersion = init.irVersion ?? 8;
    this.producerName = init.producerName ?? '';
    this.producerVersion = init.producerVersion ?? '';
    this.domain = init.domain ?? '';
    this.modelVersion = init.modelVersion ?? 0;
    this.docString = init.docString ?? '';
    this.opsetImports = init.opsetImports ?? [{ domain: '', version: 17 }];
    this.metadata = init.metadata ?? [];
    this.graph = init.graph ?? new Graph('main');
  }

  /** The opset version imported for a domain ('' and 'ai.onnx' are the same domain). */
  opsetVersion(domain = ''): number | undefined {
    const wanted = domain === 'ai.onnx' ? '' : domain;
    return this.opsetImports.find((entry) => (entry.domain === 'ai.onnx' ? '' : entry.domain) === wanted)?.version;
  }

  /** Every graph of the model, subgraphs included. */
  graphs(): Generator<Graph> {
    return this.graph.allGraphs();
  }
}
