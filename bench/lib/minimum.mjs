// The written-down minimum number of requests per scenario, derived from the seeded graph.
//
// "Minimal client" means the fewest requests of ONE algorithm that meets the requirements of
// the issue and of the README without knowing the target's state in advance:
//
// Reading the source (every scenario; a retag reads its referrers for the `referrers` and
// `capabilities` outputs, which the action fills on every run by default):
//   - GET the tagged manifest; the digests of an index's children are in it;
//   - GET the tag list once: cosign's tag-based attachments (`sha256-<hex>.sig|.att|.sbom`)
//     are copied too, and without the referrers API it says which subjects have a
//     `sha256-<hex>` referrers index, so only those are fetched;
//   - the referrers of every manifest, recursively (signatures of signatures): with the API
//     one listing per manifest, referrers included; without it one probe of the API (404),
//     then a GET of each existing `sha256-<hex>` index;
//   - a child or referrer manifest is fetched only when it has to be copied (its digest is
//     known from the index or the listing).
// Writing the target:
//   - HEAD the target tag (status, and a rerun writes nothing); the tagged manifest is pushed
//     last, directly under its tag (one PUT creates the manifest and the tag);
//   - HEAD each child before copying it (an index on the target implies its children: both
//     registries refuse manifests that name missing content, and children go first);
//   - referrers of a subject that was absent on the target are pushed without a check; for a
//     present subject, the target's listing (API or `sha256-<hex>` index) says what is there;
//   - blobs within one registry: one mount each (POST ?mount=&from=), no HEAD (a mount costs
//     one request like a HEAD and is harmless when the blob is there); across registries:
//     HEAD, and if missing GET from the source + POST (session) + PUT ?digest=;
//   - without the referrers API: per subject, GET the target's `sha256-<hex>` index and PUT
//     it merged (nothing else is overwritten);
//   - the target's referrers API support is known without a probe of its own: within a
//     registry from the source's answer, across registries from OCI-Subject on the first
//     referrer PUT.
//
// Not part of the minimum, by design: authentication (the registries are anonymous), the
// `verify: true` re-reads, and reading a written `sha256-<hex>` index back to detect a
// concurrent writer.

function add(...parts) {
  const out = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) if (v) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Reading the source graph: the tagged manifest, the tag list, referrers of every manifest. */
function discovery(st, api) {
  return { GET: 1 + 1 + (api ? st.allManifests : 1 + st.subjects) };
}

const plural = (n, word, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** Joins the non-empty parts of a description. */
const parts = (...xs) => xs.filter(Boolean).join('; ');

/**
 * @param scenario '1' | '2' | '3' | '4' | '5' | '6' | '7' (7: scenario 2 on a 4-platform index)
 * @param st graphStats() of the source graph
 * @param api whether the registries of this run have the referrers API
 * @param tags number of target tags (scenario 1)
 */
export function minimumRequests(scenario, st, api, tags = 1) {
  let byMethod;
  let why;
  const copied = st.children + st.referrers; // manifests fetched and pushed besides the tagged one
  const indexes = api ? {} : { GET: st.subjects, PUT: st.subjects };
  const indexesWhy =
    api || !st.subjects
      ? ''
      : `GET + PUT of ${plural(st.subjects, 'target sha256-<hex> index', 'target sha256-<hex> indexes')}`;
  const discoveryWhy = `read the tagged manifest, the tag list, ${
    api
      ? `the referrers listing of ${st.allManifests === 1 ? 'the manifest' : `each of the ${st.allManifests} manifests`} (recursive)`
      : `one API probe${st.subjects ? ` + the ${plural(st.subjects, 'existing sha256-<hex> index', 'existing sha256-<hex> indexes')}` : ''}`
  }`;
  const copiedWhy = copied ? `GET ${plural(copied, 'manifest')} to copy` : '';
  switch (scenario) {
    case '1':
      byMethod = add(discovery(st, api), { HEAD: tags, PUT: tags });
      why =
        `${discoveryWhy} (for the referrers and capabilities outputs); per tag a HEAD (a rerun writes nothing) and a ` +
        `PUT of the same bytes. Blind lower bound without the HEADs and the lookup (oras tag): ${1 + tags}`;
      break;
    case '2':
    case '4':
    case '7':
      byMethod = add(
        discovery(st, api),
        { HEAD: 1 + st.children },
        { GET: copied },
        { POST: st.blobs },
        { PUT: st.allManifests },
        indexes,
      );
      why = parts(
        discoveryWhy,
        `HEAD the tag${st.children ? ` and ${plural(st.children, 'child', 'children')}` : ''}`,
        copiedWhy,
        `mount ${plural(st.blobs, 'blob')}`,
        `PUT ${plural(st.allManifests, 'manifest')}`,
        indexesWhy,
      );
      break;
    case '3':
    case '5':
      byMethod = add(
        discovery(st, api),
        { HEAD: 1 + st.children + st.blobs },
        { GET: copied },
        { GET: st.blobs, POST: st.blobs, PUT: st.blobs },
        { PUT: st.allManifests },
        indexes,
      );
      why = parts(
        discoveryWhy,
        `HEAD the tag, ${st.children ? `${st.children} children, ` : ''}${plural(st.blobs, 'blob')}`,
        copiedWhy,
        `per blob GET (source) + POST + PUT ?digest= (target)`,
        `PUT ${plural(st.allManifests, 'manifest')}`,
        indexesWhy,
      );
      break;
    case '6':
      byMethod = add(discovery(st, api), { HEAD: 1 }, { GET: st.subjects });
      why = parts(
        `only reads: ${discoveryWhy} (the source may have gained referrers)`,
        `HEAD the target tag (at the digest: the index and its children are there)`,
        `the target's referrers of each of the ${st.subjects} subjects (${api ? 'API listing' : 'sha256-<hex> index'}) show every referrer is there`,
      );
      break;
    default:
      throw new Error(`no minimum for scenario ${scenario}`);
  }
  const total = Object.values(byMethod).reduce((a, b) => a + b, 0);
  return { byMethod, total, why: why.endsWith('.') ? why : `${why}.` };
}
