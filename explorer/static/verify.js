// LianRong in-browser verifier. Trusts the genesis validator set and chain id (the trust
// root the explorer is configured with) and nothing the node says: it hashes every block
// header itself, chains validator sets from genesis through certified reconfiguration
// blocks, checks commit certificates (a quorum of Ed25519 signatures of the set of the
// block's epoch over the exact bytes consensus signs), and checks a document's Jellyfish
// Merkle proof, for the state key it computes from the kind and id asked, against the
// state root a certified header commits. The same steps as the SDK's reference verifier
// (sdk/src/verify.rs). Plain JavaScript with WebCrypto, no build step. Test vectors:
// /static/vectors.json (generated from the Rust code), run by LianRongVerify.selfTest.
(function () {
  'use strict';
  const enc = new TextEncoder();
  const NS_VOTE = 'lianrong/vote/v1';
  const DS_BLOCK = enc.encode('lianrong/block/v2');
  const DS_RECONFIG = enc.encode('lianrong/reconfig/v1');
  const LEAF_DS = enc.encode('JMT::LeafNode');
  const INTERNAL_DS = enc.encode('JMT::IntrnalNode');
  const PLACEHOLDER = enc.encode('SPARSE_MERKLE_PLACEHOLDER_HASH__');
  const MAX_VALIDATORS = 256;
  const U64_MAX = (1n << 64n) - 1n;
  // contracts::DocKind::as_str
  const KINDS = ['org', 'proposal', 'order', 'shipment', 'warehouse_receipt', 'invoice',
    'receivable', 'financing', 'offer'];

  // ---------- bytes ----------

  function hexToBytes(h) {
    if (typeof h !== 'string' || h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) {
      throw new Error('not hex: ' + String(h).slice(0, 20));
    }
    const out = new Uint8Array(h.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16);
    return out;
  }
  function bytesToHex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  function concat(parts) {
    const len = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(len);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  // A u64 from JSON: a decimal string (how the explorer sends them) or a safe integer.
  // Nothing else ("0x10", " 7", 1e21, -1) is read as a number.
  function u64(v) {
    let x;
    if (typeof v === 'string' && /^(0|[1-9][0-9]{0,19})$/.test(v)) x = BigInt(v);
    else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) x = BigInt(v);
    else throw new Error('not a u64: ' + String(v).slice(0, 24));
    if (x > U64_MAX) throw new Error('not a u64: ' + v);
    return x;
  }
  function u64le(v) {
    let x = u64(v);
    const out = new Uint8Array(8);
    for (let i = 0; i < 8; i++) { out[i] = Number(x & 0xffn); x >>= 8n; }
    return out;
  }
  function u16le(v) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error('not a u16: ' + v);
    return Uint8Array.of(v & 0xff, v >> 8);
  }
  function hash32(h) {
    const b = hexToBytes(h);
    if (b.length !== 32) throw new Error('not a 32-byte hash');
    return b;
  }
  function hexOf32(h) { return bytesToHex(hash32(h)); }
  function arr32(a) {
    if (!Array.isArray(a) || a.length !== 32 || !a.every((x) => Number.isInteger(x) && x >= 0 && x < 256)) {
      throw new Error('not a 32-byte array');
    }
    return Uint8Array.from(a);
  }
  // bincode (fixed-width, little-endian): a string is its u64 byte length and UTF-8 bytes.
  function encString(s) {
    if (typeof s !== 'string') throw new Error('not a string');
    const b = enc.encode(s);
    return concat([u64le(b.length), b]);
  }
  function short(h) { return String(h).slice(0, 16) + '...'; }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  }
  // primitives::hash::sha256_parts: SHA-256 of each part prefixed by its u64 LE length.
  async function sha256Parts(parts) {
    const framed = [];
    for (const p of parts) { framed.push(u64le(p.length), p); }
    return sha256(concat(framed));
  }

  // ---------- canonical encodings ----------

  // The canonical (bincode, fixed-width little-endian) encoding of consensus VoteData.
  function encodeVote(v) {
    return concat([u64le(v.epoch), hash32(v.block_hash), u64le(v.height), u64le(v.round),
      hash32(v.parent_hash), u64le(v.parent_round)]);
  }
  // primitives::signing_message: len(ns) || ns || len(chain id) || chain id || payload.
  function signingMessage(ns, chainId, payload) {
    const n = enc.encode(ns), c = enc.encode(chainId);
    if (n.length > 255 || c.length > 255) throw new Error('namespace or chain id too long');
    return concat([Uint8Array.of(n.length), n, Uint8Array.of(c.length), c, payload]);
  }
  function voteSigningBytes(chainId, vote) {
    return signingMessage(NS_VOTE, chainId, encodeVote(vote));
  }
  // consensus::BlockHeader, field by field in declaration order.
  function encodeHeader(h) {
    if (!h || typeof h !== 'object' || !h.executed || typeof h.executed !== 'object') {
      throw new Error('not a block header');
    }
    const x = h.executed;
    return concat([encString(h.chain_id), u64le(h.epoch), u64le(h.height), u64le(h.round),
      hash32(h.parent), hash32(h.justify_hash), u16le(h.proposer), u64le(h.timestamp_ms),
      hash32(h.payload_hash), hash32(h.reconfig_hash),
      u64le(x.height), hash32(x.state_root), hash32(x.results_root)]);
  }
  // The block hash, computed here: sha256_parts(["lianrong/block/v2", encode(header)]).
  async function headerHash(h) {
    return bytesToHex(await sha256Parts([DS_BLOCK, encodeHeader(h)]));
  }
  // A validator set as JSON ([{key, org}], index order), checked as consensus checks it
  // (1..=256 members, distinct keys); its encoding is Vec<Validator{key, org: Option}>.
  function encodeValidatorSet(set) {
    if (!Array.isArray(set) || set.length < 1 || set.length > MAX_VALIDATORS) {
      throw new Error('a validator set needs 1 to ' + MAX_VALIDATORS + ' members');
    }
    const parts = [u64le(set.length)];
    const seen = new Set();
    for (const v of set) {
      const key = hash32(v && v.key);
      const hex = bytesToHex(key);
      if (seen.has(hex)) throw new Error('duplicate validator key ' + short(hex));
      seen.add(hex);
      parts.push(key);
      if (v.org === null || v.org === undefined) parts.push(Uint8Array.of(0));
      else parts.push(Uint8Array.of(1), encString(v.org));
    }
    return concat(parts);
  }
  // consensus::reconfig_hash(Option<ValidatorSet>); `null` is "no change".
  async function reconfigHash(set) {
    const opt = set === null ? Uint8Array.of(0) : concat([Uint8Array.of(1), encodeValidatorSet(set)]);
    return bytesToHex(await sha256Parts([DS_RECONFIG, opt]));
  }
  // Hex keys of a genesis set (or of a set's members), checked like a set.
  function setKeys(keys) {
    if (!Array.isArray(keys) || keys.length < 1 || keys.length > MAX_VALIDATORS) {
      throw new Error('a validator set needs 1 to ' + MAX_VALIDATORS + ' members');
    }
    const out = keys.map(hexOf32);
    if (new Set(out).size !== out.length) throw new Error('duplicate validator key');
    return out;
  }

  // ---------- checks ----------

  function checklist() {
    const checks = [];
    const check = (name, ok, detail) => {
      checks.push({ name, ok: !!ok, detail: detail || '' });
      return !!ok;
    };
    return { checks, check, valid: () => checks.length > 0 && checks.every((c) => c.ok) };
  }

  async function ed25519Verify(pkHex, msg, sigHex) {
    let key;
    try {
      key = await crypto.subtle.importKey('raw', hexToBytes(pkHex), { name: 'Ed25519' }, false, ['verify']);
    } catch (e) {
      if (e && e.name === 'NotSupportedError') throw new Error('this browser has no Ed25519 in WebCrypto');
      return false;
    }
    try {
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, hexToBytes(sigHex), msg);
    } catch (e) {
      return false;
    }
  }

  // Checks commit certificate `cert` against `keys` (hex keys of the set of `epoch`, index
  // order) on chain `chainId`, recording each step under `label`. Returns the block it
  // commits ({height: BigInt, hash: hex}) or null.
  async function checkCertificate(ck, label, chainId, keys, epoch, cert) {
    const qc = cert && cert.qc;
    if (!ck.check(label + ': present', qc && qc.vote)) return null;
    const vote = qc.vote;
    const n = keys.length;
    const quorum = n - Math.floor((n - 1) / 3);
    const signers = qc.signers, sigs = qc.signatures;
    let ok = ck.check(label + ': one signature per signer',
      Array.isArray(signers) && Array.isArray(sigs) && signers.length === sigs.length);
    if (!ok) return null;
    let increasing = true;
    for (let i = 0; i < signers.length; i++) {
      if (!Number.isInteger(signers[i]) || signers[i] < 0 || signers[i] >= n) increasing = false;
      if (i > 0 && signers[i] <= signers[i - 1]) increasing = false;
    }
    ok = ck.check(label + ': signers are distinct members of the set', increasing, signers.join(', ')) && ok;
    ok = ck.check(label + ': quorum (n - f = ' + quorum + ' of ' + n + ')', signers.length >= quorum,
      signers.length + ' signers') && ok;
    ok = ck.check(label + ': signed by the validators of epoch ' + epoch, u64(vote.epoch) === BigInt(epoch),
      'the vote is of epoch ' + vote.epoch) && ok;
    const commits = u64(vote.height) >= 1n && u64(vote.parent_round) + 1n === u64(vote.round);
    ok = ck.check(label + ': rounds consecutive (two-chain commit)', commits,
      'round ' + vote.round + ' after ' + vote.parent_round) && ok;
    const msg = voteSigningBytes(chainId, vote);
    let good = 0;
    for (let i = 0; i < signers.length; i++) {
      const key = keys[signers[i]];
      const sigOk = key !== undefined && await ed25519Verify(key, msg, sigs[i]);
      ck.check(label + ': Ed25519 signature of validator ' + signers[i], sigOk, key ? short(key) : 'unknown');
      if (sigOk) good++;
    }
    if (!ok || good !== signers.length) return null;
    return { height: u64(vote.height) - 1n, hash: hexOf32(vote.parent_hash) };
  }

  // Chains validator sets from the trust root through `changes` (EpochChange JSON, epoch 0's
  // end first): change i must be a header of epoch i whose reconfig_hash is the hash of
  // the set given, committed exactly (its hash computed here) by a certificate of set i.
  // Returns the keys of every proven epoch (index = epoch), or null.
  async function verifyEpochs(ck, trust, changes) {
    const genesis = setKeys(trust.validators);
    ck.check('trust root: ' + genesis.length + ' genesis validators of chain ' + trust.chain_id, true,
      trust.source);
    if (!ck.check('validator-set changes listed', Array.isArray(changes))) return null;
    const sets = [genesis];
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i] || {};
      const h = c.header;
      const name = 'epoch ' + (i + 1) + '\'s validators';
      let ok = ck.check(name + ': change ' + i + ' ends epoch ' + i + ' and names a set',
        u64(c.epoch) === BigInt(i) && h && u64(h.epoch) === BigInt(i) && Array.isArray(c.validators),
        'epoch ' + c.epoch);
      ok = ck.check(name + ': block of chain ' + trust.chain_id, h && h.chain_id === trust.chain_id) && ok;
      if (!ok) return null;
      const rh = await reconfigHash(c.validators);
      ok = ck.check(name + ': the set given is the one block ' + h.height + ' commits (reconfig hash)',
        rh === hexOf32(h.reconfig_hash), short(rh));
      const hash = await headerHash(h);
      const committed = await checkCertificate(ck, 'end of epoch ' + i, trust.chain_id, sets[i], i, c.certificate);
      ok = ck.check(name + ': epoch ' + i + '\'s certificate commits block ' + h.height + ' (hashed here)',
        committed && committed.height === u64(h.height) && committed.hash === hash, short(hash)) && ok;
      if (!ok) return null;
      sets.push(setKeys(c.validators.map((v) => v.key)));
    }
    return sets;
  }

  // The keys of `epoch` from proven `sets`, or null (recorded).
  function setOf(ck, sets, epoch) {
    const e = u64(epoch);
    const keys = e < BigInt(sets.length) ? sets[Number(e)] : null;
    ck.check('validator set of epoch ' + e + ' proven from genesis', keys,
      (sets.length - 1) + ' validator-set changes proven');
    return keys;
  }

  // The keys of the set that must certify header `h`: it must be of the trust root's chain,
  // and its epoch's set is proven from the trust root through `epochs` (`out.epochs` says
  // how many changes were proven). Null when there is no such set (recorded).
  async function headerSet(ck, out, trust, epochs, h) {
    ck.check('block of chain ' + trust.chain_id, h.chain_id === trust.chain_id,
      h.chain_id === trust.chain_id ? '' : 'it is of ' + h.chain_id);
    const sets = await verifyEpochs(ck, trust, epochs);
    if (!sets) return null;
    out.epochs = sets.length - 1;
    return setOf(ck, sets, h.epoch);
  }

  // input (GET /api/verify/block/{h}): {trust: {chain_id, validators, source}, epochs,
  // block: {height, hash, parent, epoch, round, proposer, timestamp_ms, header,
  // certificate, descendants}}. The block is final if a certificate of its epoch's set
  // commits its header's hash (computed here), or commits a descendant that the headers
  // given (hashed here) link back to it parent by parent.
  async function verifyBlock(input) {
    const ck = checklist();
    const out = { valid: false, checks: ck.checks, epochs: 0 };
    try {
      const trust = input.trust, b = input.block, h = b.header;
      const hash = await headerHash(h);
      ck.check('the header hashes to the block shown (computed here)', hash === hexOf32(b.hash), short(hash));
      ck.check('the header is the block shown (height, parent, epoch, round, proposer, time)',
        u64(h.height) === u64(b.height) && hexOf32(h.parent) === hexOf32(b.parent) &&
        u64(h.epoch) === u64(b.epoch) && u64(h.round) === u64(b.round) &&
        h.proposer === b.proposer && u64(h.timestamp_ms) === u64(b.timestamp_ms));
      const keys = await headerSet(ck, out, trust, input.epochs, h);
      if (!keys) return out;
      const committed = await checkCertificate(ck, 'commit certificate', trust.chain_id, keys, u64(h.epoch), b.certificate);
      if (!committed) return out;
      const height = u64(h.height);
      if (committed.height === height) {
        ck.check('the certificate commits this block', committed.hash === hash, short(committed.hash));
      } else if (committed.height > height) {
        const ds = b.descendants;
        const need = committed.height - height;
        let ok = ck.check('headers of heights ' + (height + 1n) + '..' + committed.height + ' given',
          Array.isArray(ds) && BigInt(ds.length) === need, (Array.isArray(ds) ? ds.length : 0) + ' of ' + need);
        let cur = hash;
        for (let i = 0; ok && i < ds.length; i++) {
          ok = u64(ds[i].height) === height + 1n + BigInt(i) && hexOf32(ds[i].parent) === cur;
          cur = await headerHash(ds[i]);
        }
        ck.check('final through block ' + committed.height + ': each header (hashed here) names the one below ' +
          'as parent, up to the certified block', ok && cur === committed.hash, short(committed.hash));
      } else {
        ck.check('the certificate commits this block', false, 'it commits height ' + committed.height);
      }
      out.valid = ck.valid();
      return out;
    } catch (e) {
      ck.check('well-formed input', false, String(e && e.message || e));
      return out;
    }
  }

  function nodeHashInput(node) {
    if (node === 'Null') return null;
    if (node && node.Leaf) return { ds: LEAF_DS, a: arr32(node.Leaf.key_hash), b: arr32(node.Leaf.value_hash) };
    if (node && node.Internal) return { ds: INTERNAL_DS, a: arr32(node.Internal.left_child), b: arr32(node.Internal.right_child) };
    throw new Error('unknown sibling');
  }
  async function siblingHash(node) {
    const x = nodeHashInput(node);
    return x === null ? PLACEHOLDER : sha256(concat([x.ds, x.a, x.b]));
  }
  function bit(hash, index) { return (hash[index >> 3] >> (7 - (index & 7))) & 1; }

  // The tree key of a leaf's key (lianrong_contracts::merkle::key_hash): its SHA-256, but
  // a nonce's first two bytes are those of SHA-256 of 'nonce/' (a9 a6), so that nonces
  // share one subtree.
  const NONCE_PREFIX = 'nonce/';
  const NONCE_SUBTREE = [0xa9, 0xa6];
  async function treeKey(leafKey) {
    const hash = await sha256(enc.encode(leafKey));
    if (leafKey.startsWith(NONCE_PREFIX)) hash.set(NONCE_SUBTREE, 0);
    return hash;
  }

  // Where a state key's value sits in the tree (lianrong_contracts::merkle::leaf_of): a
  // document and its history head share the leaf of the document's key (slot 0 and 1);
  // every other key is a leaf of its own (slot -1).
  function leafOf(key) {
    if (key.startsWith('doc/')) return { leafKey: key, slot: 0 };
    if (key.startsWith('hhead/')) return { leafKey: 'doc/' + key.slice('hhead/'.length), slot: 1 };
    return { leafKey: key, slot: -1 };
  }

  // The two parts of a document leaf (lianrong_contracts::merkle::DocLeaf): for the
  // document, then its history head, a byte 0 (absent), or 1 then a little-endian u64
  // length and the bytes. Throws on anything else, trailing bytes and an empty leaf.
  function docLeafParts(bytes) {
    let at = 0;
    const parts = [];
    for (let i = 0; i < 2; i++) {
      if (at >= bytes.length) throw new Error('a document leaf cut short');
      const tag = bytes[at++];
      if (tag === 0) { parts.push(null); continue; }
      if (tag !== 1) throw new Error('a document leaf with option tag ' + tag);
      if (at + 8 > bytes.length) throw new Error('a document leaf cut short');
      let len = 0;
      for (let j = 7; j >= 0; j--) len = len * 256 + bytes[at + j];
      at += 8;
      if (len > bytes.length - at) throw new Error('a document leaf part longer than the leaf');
      parts.push(bytes.slice(at, at + len));
      at += len;
    }
    if (at !== bytes.length) throw new Error('a document leaf with trailing bytes');
    if (parts[0] === null && parts[1] === null) throw new Error('an empty document leaf');
    return parts;
  }

  // A jmt sparse Merkle proof. input: {key (the state key, as text), value_hex (null for
  // an exclusion proof), leaf_hex (the shared leaf of a document or history head key),
  // state_root, proof: {leaf, siblings}}; the caller supplies a key and root it trusts.
  async function verifyProof(input) {
    const ck = checklist();
    try {
      const proof = input.proof;
      const sibs = proof && proof.siblings;
      if (!ck.check('at most 256 siblings', Array.isArray(sibs) && sibs.length <= 256)) {
        return { valid: false, checks: ck.checks };
      }
      const has = (x) => x !== null && x !== undefined;
      const { leafKey, slot } = leafOf(input.key);
      const keyHash = await treeKey(leafKey);
      const leaf = proof.leaf;
      // The bytes the tree's leaf must hold: the value, or the leaf it shares.
      let held = has(input.value_hex) ? hexToBytes(input.value_hex) : null;
      if (slot >= 0 && has(input.leaf_hex)) {
        const shared = hexToBytes(input.leaf_hex);
        const part = docLeafParts(shared)[slot];
        const same = part === null ? held === null : held !== null && bytesToHex(part) === bytesToHex(held);
        ck.check('the value is the ' + (slot ? 'history head' : 'document') + ' its leaf holds (leaf of ' + leafKey + ')', same);
        held = shared;
      } else if (slot >= 0 && held !== null) {
        ck.check('the value comes with the leaf it shares (leaf_hex)', false);
      } else if (slot < 0 && has(input.leaf_hex)) {
        ck.check('no shared leaf for ' + input.key + ', a leaf of its own', false);
      }
      if (held !== null) {
        if (!ck.check('inclusion proof has a leaf', leaf)) return { valid: false, checks: ck.checks };
        ck.check('the leaf is of key ' + leafKey, equal(arr32(leaf.key_hash), keyHash));
        ck.check('the leaf holds this value (SHA-256)', equal(arr32(leaf.value_hash), await sha256(held)),
          held.length + ' bytes');
      } else if (leaf) {
        const other = arr32(leaf.key_hash);
        let common = 0;
        while (common < 256 && bit(other, common) === bit(keyHash, common)) common++;
        ck.check('exclusion: the leaf is of another key', !equal(other, keyHash));
        ck.check('exclusion: the key would sit in that leaf\'s subtree', common >= sibs.length);
      }
      let current = leaf ? await sha256(concat([LEAF_DS, arr32(leaf.key_hash), arr32(leaf.value_hash)])) : PLACEHOLDER;
      for (let i = 0; i < sibs.length; i++) {
        const s = await siblingHash(sibs[i]);
        const b = bit(keyHash, sibs.length - 1 - i);
        current = await sha256(b ? concat([INTERNAL_DS, s, current]) : concat([INTERNAL_DS, current, s]));
      }
      ck.check('the path hashes to the state root ' + short(hexOf32(input.state_root)),
        bytesToHex(current) === hexOf32(input.state_root), 'got ' + short(bytesToHex(current)));
      return { valid: ck.valid(), checks: ck.checks };
    } catch (e) {
      ck.check('well-formed proof', false, String(e && e.message || e));
      return { valid: false, checks: ck.checks };
    }
  }

  // input (GET /api/verify/doc/{kind}/{id}): {trust, epochs, header, certificate,
  // proof: {kind, id, subject, height, state_root, key, value_hex, leaf_hex, proof}, shown_hex?}.
  // `kind` and `id` are what the user asked about: the state key doc/<kind>/<id> is
  // computed here, the root is the one a certified header commits (header.executed), and
  // when `shown_hex` is given the proven value must be exactly those bytes (the copy the
  // page shows). Returns {valid, checks, present, height, epochs}.
  async function verifyDocument(input, kind, id) {
    const ck = checklist();
    const out = { valid: false, checks: ck.checks, present: false, epochs: 0 };
    try {
      if (!ck.check('a document kind', KINDS.includes(kind), kind)) return out;
      if (!ck.check('a document id', typeof id === 'string' && id.length > 0 && id.length <= 128, id)) return out;
      const key = 'doc/' + kind + '/' + id;
      const trust = input.trust, h = input.header, p = input.proof;
      const asked = p.subject === 'document' && p.kind === kind && p.id === id;
      ck.check('the answer is the proof of ' + kind + ' ' + id + ' (state key ' + key + ', computed here)', asked,
        asked ? '' : 'it is a ' + p.subject + ' proof of ' + p.kind + ' ' + p.id);
      const keys = await headerSet(ck, out, trust, input.epochs, h);
      if (!keys) return out;
      const hash = await headerHash(h);
      const committed = await checkCertificate(ck, 'commit certificate', trust.chain_id, keys, u64(h.epoch), input.certificate);
      if (!ck.check('the certificate commits block ' + h.height + ' (its header hashed here)',
        committed && committed.height === u64(h.height) && committed.hash === hash, short(hash))) return out;
      const x = h.executed;
      out.height = String(u64(x.height));
      ck.check('the proof is of the state of height ' + x.height + ' that block ' + h.height + ' certifies',
        u64(p.height) === u64(x.height), 'proof of height ' + p.height);
      ck.check('the proof names the certified state root', hexOf32(p.state_root) === hexOf32(x.state_root),
        short(hexOf32(p.state_root)));
      const merkle = await verifyProof({ key, value_hex: p.value_hex, leaf_hex: p.leaf_hex, state_root: x.state_root, proof: p.proof });
      for (const c of merkle.checks) ck.checks.push(c);
      out.present = p.value_hex !== null && p.value_hex !== undefined;
      if (typeof input.shown_hex === 'string') {
        const same = out.present && bytesToHex(hexToBytes(p.value_hex)) === bytesToHex(hexToBytes(input.shown_hex));
        const why = !out.present ? 'absent from the state of height ' + x.height
          : 'the page\'s copy differs (it may have changed after height ' + x.height + ': reload and verify again)';
        ck.check('this page shows the certified document', same, same ? '' : why);
      }
      out.valid = ck.valid();
      return out;
    } catch (e) {
      ck.check('well-formed input', false, String(e && e.message || e));
      return out;
    }
  }

  // A certificate alone. input: {chain_id, validators: [hex], epoch, cert}; returns
  // {valid, committed: {height, hash} | null, checks}.
  async function verifyCertificate(input) {
    const ck = checklist();
    try {
      const keys = setKeys(input.validators);
      const c = await checkCertificate(ck, 'certificate', input.chain_id, keys, u64(input.epoch), input.cert);
      return { valid: !!c, checks: ck.checks, committed: c && { height: String(c.height), hash: c.hash } };
    } catch (e) {
      ck.check('well-formed input', false, String(e && e.message || e));
      return { valid: false, checks: ck.checks, committed: null };
    }
  }

  // Runs every vector; returns {ok, results: [{name, expect, got, ok}]}.
  async function selfTest(v) {
    const results = [];
    // JSON with object keys sorted, so {height, hash} equals {hash, height}.
    const canon = (x) => {
      if (Array.isArray(x)) return '[' + x.map(canon).join(',') + ']';
      if (x && typeof x === 'object') {
        return '{' + Object.keys(x).sort().map((k) => JSON.stringify(k) + ':' + canon(x[k])).join(',') + '}';
      }
      return x === undefined ? 'undefined' : JSON.stringify(x);
    };
    // A vector without its expected value never passes.
    const add = (name, expect, got) => {
      results.push({ name, expect, got, ok: expect !== undefined && canon(expect) === canon(got) });
    };
    const run = async (name, expect, f) => {
      try { add(name, expect, await f()); } catch (e) { add(name, expect, 'threw: ' + (e && e.message || e)); }
    };
    await run('vote encoding', v.vote.encoded_hex, () => bytesToHex(encodeVote(v.vote.vote)));
    await run('vote signing bytes', v.vote.signing_bytes_hex,
      () => bytesToHex(voteSigningBytes(v.vote.chain_id, v.vote.vote)));
    await run('epoch-end vote signing bytes', v.epoch_end_vote.signing_bytes_hex,
      () => bytesToHex(voteSigningBytes(v.epoch_end_vote.chain_id, v.epoch_end_vote.vote)));
    for (const x of v.headers) {
      await run('header encoding: ' + x.name, x.encoded_hex, () => bytesToHex(encodeHeader(x.header)));
      await run('header hash: ' + x.name, x.hash, () => headerHash(x.header));
    }
    for (const x of v.reconfig) await run('reconfig hash: ' + x.name, x.hash, () => reconfigHash(x.validators));
    for (const x of v.certificates) {
      await run('certificate: ' + x.name, x.commits, async () => (await verifyCertificate(x.input)).committed);
    }
    await run('epoch changes: the sets proven', v.epochs.sets,
      () => verifyEpochs(checklist(), v.epochs.trust, v.epochs.changes));
    for (const x of v.blocks) await run('block: ' + x.name, x.expect, async () => (await verifyBlock(x.input)).valid);
    for (const x of v.documents) {
      await run('document: ' + x.name, x.expect, async () => (await verifyDocument(x.input, x.kind, x.id)).valid);
    }
    for (const x of v.proofs) await run('proof: ' + x.name, x.expect, async () => (await verifyProof(x.input)).valid);
    return { ok: results.length > 0 && results.every((r) => r.ok), results };
  }

  // ---------- page ----------

  function flipHex(h, at) {
    const b = hexToBytes(h);
    b[at % b.length] ^= 1;
    return bytesToHex(b);
  }

  function render(el, title, result) {
    const valid = !!result.valid;
    el.textContent = '';
    el.dataset.result = valid ? 'valid' : 'invalid';
    el.className = 'verdict ' + (valid ? 'valid' : 'invalid');
    const h = document.createElement('h3');
    h.textContent = (valid ? 'VALID' : 'INVALID') + ' -- ' + title;
    el.appendChild(h);
    const ul = document.createElement('ul');
    for (const c of result.checks) {
      const li = document.createElement('li');
      li.className = c.ok ? 'ok' : 'bad';
      li.textContent = (c.ok ? '\u2713 ' : '\u2717 ') + c.name + (c.detail ? ' (' + c.detail + ')' : '');
      ul.appendChild(li);
    }
    el.appendChild(ul);
  }

  // Says where the trust root came from and how far the chain of validator sets was proven.
  function note(el, input, result) {
    const p = document.createElement('p');
    p.className = 'muted';
    const t = input.trust || {};
    p.textContent = 'Trust root: chain ' + t.chain_id + ', ' + (t.validators || []).length +
      ' genesis validators from the ' + t.source + '; ' + result.epochs +
      ' validator-set changes verified from genesis in this browser.';
    el.appendChild(p);
  }

  async function fetchJson(url) {
    const r = await fetch(url, { credentials: 'same-origin' });
    if (!r.ok) {
      const why = await r.text().catch(() => '');
      throw new Error(why ? why : url + ': ' + r.status);
    }
    return r.json();
  }

  function failed(out, e) {
    render(out, 'could not verify', { valid: false, checks: [{ name: String(e && e.message || e), ok: false }] });
  }

  async function runBlock(el, tamper) {
    const out = document.getElementById('verify-result');
    out.textContent = 'verifying...';
    out.dataset.result = 'running';
    try {
      const input = await fetchJson('/api/verify/block/' + encodeURIComponent(el.dataset.height));
      const c = input.block && input.block.certificate;
      if (tamper && c && c.qc && c.qc.signatures.length) c.qc.signatures[0] = flipHex(c.qc.signatures[0], 7);
      const r = await verifyBlock(input);
      render(out, (tamper ? 'tampered copy of ' : '') + 'block ' + el.dataset.height + ' is final', r);
      note(out, input, r);
    } catch (e) {
      failed(out, e);
    }
  }

  async function runDoc(el, tamper) {
    const out = document.getElementById('verify-result');
    out.textContent = 'verifying...';
    out.dataset.result = 'running';
    try {
      const kind = el.dataset.kind, id = el.dataset.id;
      const input = await fetchJson('/api/verify/doc/' + encodeURIComponent(kind) + '/' + encodeURIComponent(id));
      if (tamper && input.proof && input.proof.value_hex) input.proof.value_hex = flipHex(input.proof.value_hex, 3);
      const r = await verifyDocument(input, kind, id);
      const at = r.height !== undefined ? ' in the certified state of height ' + r.height : '';
      render(out, (tamper ? 'tampered copy of ' : '') + kind + ' ' + id + at, r);
      note(out, input, r);
    } catch (e) {
      failed(out, e);
    }
  }

  window.LianRongVerify = {
    hexToBytes, bytesToHex, encodeVote, voteSigningBytes, encodeHeader, headerHash, reconfigHash,
    verifyCertificate, verifyEpochs: (trust, changes) => verifyEpochs(checklist(), trust, changes),
    verifyBlock, verifyDocument, verifyProof, selfTest,
  };

  document.addEventListener('DOMContentLoaded', () => {
    for (const b of document.querySelectorAll('[data-verify-block]')) {
      b.addEventListener('click', () => runBlock(b, b.dataset.tamper === '1'));
    }
    for (const b of document.querySelectorAll('[data-verify-doc]')) {
      b.addEventListener('click', () => runDoc(b, b.dataset.tamper === '1'));
    }
  });
})();
