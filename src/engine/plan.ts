/**
 * The plan of a promotion, node by node: what a dry run would do, or what a real run did.
 * The engine records it as it goes; the action renders it as the job summary.
 */

/**
 * `copy`: pushed (a blob: uploaded); `mount`: a blob mounted from the source repository (no
 * bytes moved); `present`: already in the target, left alone; `merge`: a referrers tag written
 * with the entries it lacked; `create`: a referrers tag written new.
 */
export type PlanAction = 'copy' | 'mount' | 'present' | 'merge' | 'create';

export type PlanNodeKind = 'index' | 'manifest' | 'blob' | 'referrer' | 'referrers-tag' | 'cosign-tag';

export interface PlanNode {
  kind: PlanNodeKind;
  /** The node's digest; for a referrers tag, the subject's. */
  digest: string;
  action: PlanAction;
  mediaType?: string;
  artifactType?: string;
  size?: number;
  /** The manifest that names it, or a referrer's subject; none for the promoted manifest. */
  parent?: string;
  /** A referrers tag's or cosign attachment's tag. */
  tag?: string;
  /** For a referrer: how the target lists it; unknown in a dry run before the first write. */
  listedBy?: 'referrers API' | 'referrers tag';
  /** What the action depends on, where a dry run could not know it. */
  condition?: string;
}

export interface RepositoryPlan {
  /** `registry/repository` of the target. */
  repository: string;
  nodes: PlanNode[];
}

/** Collects the nodes of one target repository, each digest (or tag) once. */
export class PlanRecorder {
  private readonly nodes: PlanNode[] = [];
  private readonly byKey = new Map<string, PlanNode>();

  constructor(readonly repository: string) {}

  private static key(node: Pick<PlanNode, 'kind' | 'digest' | 'tag'>): string {
    return node.kind === 'referrers-tag' || node.kind === 'cosign-tag' ? `tag ${node.tag}` : node.digest;
  }

  record(node: PlanNode): void {
    const key = PlanRecorder.key(node);
    if (this.byKey.has(key)) return;
    this.byKey.set(key, node);
    this.nodes.push(node);
  }

  /** Adds what was learned about a referrer after it was recorded: how the target lists it. */
  annotate(digest: string, patch: Pick<PlanNode, 'listedBy'>): void {
    const node = this.byKey.get(digest);
    if (node?.kind === 'referrer') Object.assign(node, patch);
  }

  plan(): RepositoryPlan {
    return { repository: this.repository, nodes: this.nodes.map((n) => ({ ...n })) };
  }
}
