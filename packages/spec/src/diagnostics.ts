/** Where a diagnostic or an error applies. Every field is optional: say as much as is known. */
export interface Location {
  /** A file on disk. */
  file?: string;
  /** Name of the graph (subgraphs: their own names). */
  graph?: string;
  /** Name (or, when unnamed, `#index`) of the node. */
  node?: string;
  /** Name of the value or tensor. */
  value?: string;
  /** A path inside a structured document, such as `graph.node[3].attribute[0]` or `pipeline[1].options`. */
  path?: string;
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  /** Stable, upper-case code such as `ONNX_UNKNOWN_FIELD`. */
  code: string;
  severity: Severity;
  message: string;
  /** The pass that reported it, if any. */
  pass?: string;
  location?: Location;
}
