// Command referrers-registry is a small OCI registry for integration tests
// that, unlike Debian's distribution 2.8, implements the OCI 1.1 referrers
// API (GET /v2/<name>/referrers/<digest>).
//
// It wraps go-containerregistry's pkg/registry (manifests in memory, blobs on
// disk) and adds what the tests need:
//
//   - one JSON line per request (method, path with query, status) in a log
//     file, written as soon as the status is decided, i.e. before the client
//     can have seen the response, so tests can count requests reliably;
//   - optional HTTP Basic auth (-user name:password, repeatable).
//
// It also corrects the library (v0.22.1) where it deviates from the OCI
// distribution spec in ways that would make tests of a client that copies
// images and their referrers misleading.
//
// Referrers API: the library reports config.mediaType as artifactType even
// when the manifest has an artifactType field (every artifact with the empty
// config would look like "application/vnd.oci.empty.v1+json"); it answers 404
// for a repository it has never seen, whereas a registry with the API MUST
// NOT answer 404 (clients take 404 as "no referrers API" and fall back to the
// tag schema); it ignores the artifactType filter and lists in random order;
// and it does not send OCI-Subject when a manifest with a subject is pushed.
//
// Tag listing: with ?last=<the greatest tag> the library returns the whole
// list again (a paginating client loops forever), and it sends no Link header.
//
// Blobs: the library's disk store is global, so a blob pushed to one
// repository exists in all of them (a client that forgets to copy blobs to
// another repository would pass), it ignores cross-repository mounts, and it
// accepts manifests whose blobs are missing or whose digest does not match
// the digest they are pushed under. Here, as in distribution, blobs belong to
// the repositories they were uploaded or mounted to, POST ?mount=&from=
// mounts them, and such manifests are refused.
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

const ociIndexMediaType = "application/vnd.oci.image.index.v1+json"

type userList map[string]string

func (u userList) String() string { return fmt.Sprintf("%d users", len(u)) }

func (u userList) Set(v string) error {
	name, pass, ok := strings.Cut(v, ":")
	if !ok || name == "" {
		return fmt.Errorf("want name:password, got %q", v)
	}
	u[name] = pass
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "listen address")
	blobDir := flag.String("blobs", "", "directory for blob storage (required)")
	logPath := flag.String("log", "", "file for the JSON request log (default: stderr)")
	realm := flag.String("realm", "referrers-registry", "Basic auth realm")
	users := userList{}
	flag.Var(users, "user", "name:password allowed via HTTP Basic auth (repeatable; none = anonymous access)")
	unknownRepo404 := flag.Bool("unknown-repo-404", false,
		"answer the referrers of a repository never pushed to with 404 NAME_UNKNOWN, as some registries do (the spec asks for an empty list)")
	flag.Parse()

	if *blobDir == "" {
		log.Fatal("-blobs is required")
	}
	if err := os.MkdirAll(*blobDir, 0o755); err != nil {
		log.Fatal(err)
	}

	var reqLog io.Writer = os.Stderr
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		reqLog = f
	}

	inner := registry.New(
		registry.WithReferrersSupport(true),
		registry.WithBlobHandler(registry.NewDiskBlobHandler(*blobDir)),
		// The library's own free-text log goes to stderr for debugging only;
		// the machine-readable request log is ours.
		registry.Logger(log.New(os.Stderr, "ggcr: ", log.LstdFlags)),
	)

	h := &handler{inner: inner, users: users, realm: *realm, log: reqLog, blobs: map[string]map[string]bool{}, unknownRepo404: *unknownRepo404}
	// Bind before announcing: the harness waits for "listening on <addr>"
	// on stderr, so that line proves this process owns the port (and not,
	// say, a registry of a parallel test that grabbed it first). A port clash
	// makes the process exit non-zero and the harness retries another port.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	log.Fatal(srv.Serve(ln))
}

type handler struct {
	inner http.Handler
	users userList
	realm string
	// unknownRepo404: the referrers of an unknown repository are 404 NAME_UNKNOWN.
	unknownRepo404 bool

	logMu sync.Mutex
	log   io.Writer

	// blobs[repo][digest]: which repositories a blob was uploaded or mounted to.
	blobsMu sync.Mutex
	blobs   map[string]map[string]bool
}

func (h *handler) hasBlob(repo, digest string) bool {
	h.blobsMu.Lock()
	defer h.blobsMu.Unlock()
	return h.blobs[repo][digest]
}

func (h *handler) setBlob(repo, digest string, present bool) {
	h.blobsMu.Lock()
	defer h.blobsMu.Unlock()
	if h.blobs[repo] == nil {
		h.blobs[repo] = map[string]bool{}
	}
	if present {
		h.blobs[repo][digest] = true
	} else {
		delete(h.blobs[repo], digest)
	}
}

type logLine struct {
	Time   string `json:"time"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

func (h *handler) writeLog(req *http.Request, status int) {
	b, _ := json.Marshal(logLine{
		Time:   time.Now().UTC().Format(time.RFC3339Nano),
		Method: req.Method,
		Path:   req.URL.RequestURI(),
		Status: status,
	})
	h.logMu.Lock()
	defer h.logMu.Unlock()
	h.log.Write(append(b, '\n')) // one write per line: readers never see half a line in practice
}

// loggingWriter logs the request the moment the status is decided, before
// any byte of the response goes out, and lets the handler add headers that
// depend on the status (OCI-Subject only on success).
type loggingWriter struct {
	http.ResponseWriter
	onHeader func(status int)
	status   int // 0 until decided
}

func (w *loggingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		w.onHeader(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *loggingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (h *handler) ServeHTTP(resp http.ResponseWriter, req *http.Request) {
	var subject string // digest to echo in OCI-Subject on a successful manifest PUT

	w := &loggingWriter{ResponseWriter: resp}
	w.onHeader = func(status int) {
		if subject != "" && status == http.StatusCreated {
			resp.Header().Set("OCI-Subject", subject)
		}
		h.writeLog(req, status)
	}
	defer func() {
		if w.status == 0 { // handler returned without writing anything: implicit 200
			w.WriteHeader(http.StatusOK)
		}
	}()

	if !h.authorized(req) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", h.realm))
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}

	// /v2/<repo...>/<kind>/<ref>; <kind> is never the first repo component here.
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	n := len(parts)
	if n < 4 || parts[0] != "v2" {
		h.inner.ServeHTTP(w, req)
		return
	}
	repo := strings.Join(parts[1:n-2], "/")
	kind, ref := parts[n-2], parts[n-1]
	q := req.URL.Query()

	switch {
	case kind == "manifests" && req.Method == http.MethodPut:
		body, err := io.ReadAll(req.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
			return
		}
		if rerr := h.checkManifest(repo, ref, body); rerr != nil {
			writeError(w, rerr.status, rerr.code, rerr.msg)
			return
		}
		var m struct {
			Subject *struct {
				Digest string `json:"digest"`
			} `json:"subject"`
		}
		if json.Unmarshal(body, &m) == nil && m.Subject != nil {
			subject = m.Subject.Digest
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		h.inner.ServeHTTP(w, req)

	case kind == "referrers" && req.Method == http.MethodGet:
		h.referrers(w, req, repo)

	case kind == "tags" && ref == "list" && req.Method == http.MethodGet:
		h.tags(w, req)

	case kind == "blobs" && ref == "uploads" && req.Method == http.MethodPost:
		// Start of an upload (/v2/<repo>/blobs/uploads/), possibly a mount.
		if mount, from := q.Get("mount"), q.Get("from"); mount != "" && from != "" && h.hasBlob(from, mount) {
			h.setBlob(repo, mount, true)
			w.Header().Set("Location", "/v2/"+repo+"/blobs/"+mount)
			w.Header().Set("Docker-Content-Digest", mount)
			w.WriteHeader(http.StatusCreated)
			return
		}
		// Not mountable: the library ignores mount/from and opens an upload
		// session (202), which is what the spec asks for.
		h.inner.ServeHTTP(w, req)
		if d := q.Get("digest"); d != "" && w.status == http.StatusCreated { // monolithic POST
			h.setBlob(repo, d, true)
		}

	case n >= 5 && parts[n-3] == "blobs" && kind == "uploads":
		// Upload session /v2/<repo>/blobs/uploads/<id>: PATCH, PUT, ...
		h.inner.ServeHTTP(w, req)
		if d := q.Get("digest"); req.Method == http.MethodPut && d != "" && w.status == http.StatusCreated {
			h.setBlob(strings.Join(parts[1:n-3], "/"), d, true)
		}

	case kind == "blobs":
		// /v2/<repo>/blobs/<digest>: only visible in repositories that have it.
		if !h.hasBlob(repo, ref) {
			writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry")
			return
		}
		if req.Method == http.MethodDelete {
			// Unlink from this repository only; the library would delete the
			// file that other repositories share.
			h.setBlob(repo, ref, false)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		h.inner.ServeHTTP(w, req)

	default:
		h.inner.ServeHTTP(w, req)
	}
}

type regError struct {
	status    int
	code, msg string
}

// checkManifest refuses what distribution refuses: a body that does not match
// the digest it is pushed under, and an image manifest whose config or layers
// are not in the repository.
func (h *handler) checkManifest(repo, ref string, body []byte) *regError {
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if strings.Contains(ref, ":") && ref != digest {
		return &regError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("manifest digest is %s, not %s", digest, ref)}
	}
	type desc struct {
		Digest string   `json:"digest"`
		URLs   []string `json:"urls"`
	}
	var m struct {
		Config *desc  `json:"config"`
		Layers []desc `json:"layers"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return &regError{http.StatusBadRequest, "MANIFEST_INVALID", err.Error()}
	}
	blobs := m.Layers
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, b := range blobs {
		if len(b.URLs) == 0 && !h.hasBlob(repo, b.Digest) {
			return &regError{http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry: " + b.Digest}
		}
	}
	return nil
}

func (h *handler) authorized(req *http.Request) bool {
	if len(h.users) == 0 {
		return true
	}
	name, pass, ok := req.BasicAuth()
	if !ok {
		return false
	}
	want, known := h.users[name]
	return known && subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// innerGet runs a GET against the wrapped registry without logging it.
func (h *handler) innerGet(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.inner.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// referrers answers the referrers API from the wrapped registry's answer,
// corrected to follow the OCI distribution spec 1.1 (see package comment).
func (h *handler) referrers(w http.ResponseWriter, req *http.Request, repo string) {
	rec := h.innerGet(req.URL.Path)
	var index struct {
		Manifests []map[string]any `json:"manifests"`
	}
	switch rec.Code {
	case http.StatusOK:
		if err := json.Unmarshal(rec.Body.Bytes(), &index); err != nil {
			writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
			return
		}
	case http.StatusNotFound:
		// Unknown repository: the spec requires an empty list, not 404.
		if h.unknownRepo404 {
			writeError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
			return
		}
	default:
		copyResponse(w, rec) // e.g. 400 for an invalid digest
		return
	}

	filter := req.URL.Query().Get("artifactType")
	out := []map[string]any{}
	for _, d := range index.Manifests {
		digest, _ := d["digest"].(string)
		var m struct {
			ArtifactType string `json:"artifactType"`
			Config       *struct {
				MediaType string `json:"mediaType"`
			} `json:"config"`
		}
		_ = json.Unmarshal(h.innerGet("/v2/"+repo+"/manifests/"+digest).Body.Bytes(), &m)
		// Spec: the manifest's artifactType, else (image manifests) the
		// config's mediaType; none for an index without artifactType.
		switch {
		case m.ArtifactType != "":
			d["artifactType"] = m.ArtifactType
		case m.Config != nil && m.Config.MediaType != "":
			d["artifactType"] = m.Config.MediaType
		default:
			delete(d, "artifactType")
		}
		if filter != "" && d["artifactType"] != filter {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := out[i]["digest"].(string)
		b, _ := out[j]["digest"].(string)
		return a < b
	})

	body, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociIndexMediaType,
		"manifests":     out,
	})
	w.Header().Set("Content-Type", ociIndexMediaType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// tags answers GET /v2/<name>/tags/list with spec-conforming pagination:
// ?last= excludes every tag up to and including it, ?n= limits the page, and
// a truncated page carries a Link header to the next one (as distribution does).
func (h *handler) tags(w http.ResponseWriter, req *http.Request) {
	rec := h.innerGet(req.URL.Path) // the full list
	if rec.Code != http.StatusOK {
		copyResponse(w, rec)
		return
	}
	var list struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	sort.Strings(list.Tags)

	q := req.URL.Query()
	tags := []string{}
	for _, t := range list.Tags {
		if last := q.Get("last"); last == "" || t > last {
			tags = append(tags, t)
		}
	}
	if ns := q.Get("n"); ns != "" {
		n, err := strconv.Atoi(ns)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "invalid n")
			return
		}
		if n < len(tags) {
			tags = tags[:n]
			if n > 0 {
				next := url.Values{"n": {ns}, "last": {tags[n-1]}}
				w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", req.URL.Path, next.Encode()))
			}
		}
	}

	body, _ := json.Marshal(map[string]any{"name": list.Name, "tags": tags})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
