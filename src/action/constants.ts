/** Input and output names, declared once; action.yml declares the same names. */
export const Inputs = {
  Source: 'source',
  Targets: 'targets',
  Username: 'username',
  Password: 'password',
  CopyReferrers: 'copy-referrers',
  ReferrersApi: 'referrers-api',
  PlainHttp: 'plain-http',
  DryRun: 'dry-run',
  Concurrency: 'concurrency',
  Verify: 'verify',
  Timeout: 'timeout',
  RequireReferrers: 'require-referrers',
  RequireReferrersScope: 'require-referrers-scope',
  ReferrerTypes: 'referrer-types',
  Overwrite: 'overwrite',
  GithubToken: 'github-token',
  RemoveStrayReferrersTags: 'remove-stray-referrers-tags',
  Trace: 'trace',
} as const;

export const Outputs = {
  Digest: 'digest',
  MediaType: 'media-type',
  Targets: 'targets',
  Referrers: 'referrers',
  Capabilities: 'capabilities',
  ReferrersTags: 'referrers-tags',
  StrayReferrersTags: 'stray-referrers-tags',
  TraceFile: 'trace-file',
} as const;
