// LianRong in-browser verifier: checks a commit certificate (Ed25519 signatures of a
// quorum of the validator set over the exact bytes consensus signs) and a Jellyfish
// Merkle state proof (SHA-256), with the browser's own WebCrypto -- not the explorer
// server's word. Plain JavaScript, no build step. Test vectors: /static/vectors.json.
(function () {
  'use strict';
  const enc = new TextEncoder();
  const NS_VOTE = 'lianrong/vote/v1';
  const LEAF_DS = enc.encode('JMT::LeafNode');
  const INTERNAL_DS = enc.encode('JMT::IntrnalNode');
  const PLACEHOLDER = enc.encode('SPARSE_MERKLE_PLACEHOLDER_HASH__');

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
  function u64le(v) {
    let x = BigInt(v);
    if (x < 0n || x >= (1n << 64n)) throw new Error('not a u64: ' + v);
    const out = new Uint8Array(8);
    for (let i = 0; i < 8; i++) { out[i] = Number(x & 0xffn); x >>= 8n; }
    return out;
  }
  function hash32(h) {
    const b = hexToBytes(h);
    if (b.length !== 32) throw new Error('not a 32-byte hash');
    return b;
  }
  function arr32(a) {
    if (!Array.isArray(a) || a.length !== 32 || !a.every((x) => Number.isInteger(x) && x >= 0 && x < 256)) {
      throw new Error('not a 32-byte array');
    }
    return Uint8Array.from(a);
  }

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

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
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

  // input: {chain_id, validators: [hex key], block: {height, hash},
  //         cert: {qc: {vote, signers, signatures}}, chain?: [{height, hash, parent}]}
  async function verifyCertificate(input) {
    const checks = [];
    const check = (name, ok, detail) => { checks.push({ name, ok: !!ok, detail: detail || '' }); return !!ok; };
    try {
      const qc = input.cert && input.cert.qc;
      if (!check('certificate present', qc)) return { valid: false, checks };
      const vote = qc.vote;
      const n = input.validators.length;
      const f = Math.floor((n - 1) / 3);
      const quorum = n - f;
      const signers = qc.signers, sigs = qc.signatures;
      check('one signature per signer', Array.isArray(signers) && Array.isArray(sigs) && signers.length === sigs.length);
      let increasing = true;
      for (let i = 0; i < signers.length; i++) {
        if (!Number.isInteger(signers[i]) || signers[i] < 0 || signers[i] >= n) increasing = false;
        if (i > 0 && signers[i] <= signers[i - 1]) increasing = false;
      }
      check('signers are distinct validators', increasing, signers.join(', '));
      check('quorum (n - f = ' + quorum + ' of ' + n + ')', signers.length >= quorum, signers.length + ' signers');
      check('epoch 0 (genesis validator set)', BigInt(vote.epoch) === 0n, 'epoch ' + vote.epoch);
      const commits = BigInt(vote.height) >= 1n && BigInt(vote.parent_round) + 1n === BigInt(vote.round);
      check('rounds consecutive (two-chain commit)', commits, 'round ' + vote.round + ' after ' + vote.parent_round);
      const msg = voteSigningBytes(input.chain_id, vote);
      let good = 0;
      for (let i = 0; i < signers.length && i < sigs.length; i++) {
        const key = input.validators[signers[i]];
        const ok = key !== undefined && await ed25519Verify(key, msg, sigs[i]);
        check('Ed25519 signature of validator ' + signers[i], ok, key ? key.slice(0, 16) + '...' : 'unknown');
        if (ok) good++;
      }
      const committedHeight = BigInt(vote.height) - 1n;
      const committedHash = String(vote.parent_hash).toLowerCase();
      const bh = BigInt(input.block.height), bhash = String(input.block.hash).toLowerCase();
      if (committedHeight === bh) {
        check('certificate commits this block', committedHash === bhash, 'height ' + committedHeight + ', hash ' + committedHash.slice(0, 16) + '...');
      } else if (committedHeight > bh && Array.isArray(input.chain)) {
        // Final through a descendant: follow the parent links up to the committed block.
        let ok = input.chain.length > 0 && String(input.chain[0].hash).toLowerCase() === bhash;
        for (let i = 1; i < input.chain.length; i++) {
          ok = ok && String(input.chain[i].parent).toLowerCase() === String(input.chain[i - 1].hash).toLowerCase();
        }
        const last = input.chain[input.chain.length - 1];
        ok = ok && last && BigInt(last.height) === committedHeight && String(last.hash).toLowerCase() === committedHash;
        check('certificate commits descendant ' + committedHeight + ' (parent links as reported by the node)', ok);
      } else {
        check('certificate commits this block', false, 'it commits height ' + committedHeight);
      }
      const valid = checks.every((c) => c.ok) && good >= quorum;
      return { valid, checks, signing_bytes_hex: bytesToHex(msg) };
    } catch (e) {
      check('well-formed input', false, String(e && e.message || e));
      return { valid: false, checks };
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

  // input: {key, value_hex (null for an exclusion proof), state_root, proof: {leaf, siblings}, id?}
  async function verifyProof(input) {
    const checks = [];
    const check = (name, ok, detail) => { checks.push({ name, ok: !!ok, detail: detail || '' }); return !!ok; };
    try {
      const proof = input.proof;
      const sibs = proof.siblings;
      if (!check('at most 256 siblings', Array.isArray(sibs) && sibs.length <= 256)) return { valid: false, checks };
      const keyHash = await sha256(enc.encode(input.key));
      const leaf = proof.leaf;
      let current;
      if (input.value_hex !== null && input.value_hex !== undefined) {
        const value = hexToBytes(input.value_hex);
        if (!check('inclusion proof has a leaf', leaf)) return { valid: false, checks };
        check('leaf is this key', equal(arr32(leaf.key_hash), keyHash), input.key);
        check('leaf holds this value (SHA-256)', equal(arr32(leaf.value_hash), await sha256(value)), value.length + ' bytes');
        if (input.id) check('value names the document', bytesToHex(value).includes(bytesToHex(enc.encode(input.id))), input.id);
      } else if (leaf) {
        const other = arr32(leaf.key_hash);
        let common = 0;
        while (common < 256 && bit(other, common) === bit(keyHash, common)) common++;
        check('exclusion: leaf is another key', !equal(other, keyHash));
        check('exclusion: key would sit in that leaf\'s subtree', common >= sibs.length);
      }
      current = leaf ? await sha256(concat([LEAF_DS, arr32(leaf.key_hash), arr32(leaf.value_hash)])) : PLACEHOLDER;
      for (let i = 0; i < sibs.length; i++) {
        const s = await siblingHash(sibs[i]);
        const b = bit(keyHash, sibs.length - 1 - i);
        current = await sha256(b ? concat([INTERNAL_DS, s, current]) : concat([INTERNAL_DS, current, s]));
      }
      check('path hashes to the state root', bytesToHex(current) === String(input.state_root).toLowerCase(),
        bytesToHex(current).slice(0, 16) + '...');
      return { valid: checks.every((c) => c.ok), checks };
    } catch (e) {
      check('well-formed proof', false, String(e && e.message || e));
      return { valid: false, checks };
    }
  }

  // Runs every vector; returns {ok, results}.
  async function selfTest(v) {
    const results = [];
    const add = (name, expect, got) => results.push({ name, expect, got, ok: expect === got });
    add('vote encoding', v.vote.encoded_hex, bytesToHex(encodeVote(v.vote.vote)));
    add('vote signing bytes', v.vote.signing_bytes_hex, bytesToHex(voteSigningBytes(v.vote.chain_id, v.vote.vote)));
    add('epoch-end vote signing bytes', v.epoch_end_vote.signing_bytes_hex,
      bytesToHex(voteSigningBytes(v.epoch_end_vote.chain_id, v.epoch_end_vote.vote)));
    for (const name of ['certificate', 'tampered_certificate', 'short_certificate', 'carried_certificate', 'broken_carry']) {
      add(name, v[name].expect, (await verifyCertificate(v[name])).valid);
    }
    for (const p of v.proofs) add('proof: ' + p.name, p.expect, (await verifyProof(p.input)).valid);
    return { ok: results.every((r) => r.ok), results };
  }

  function flipHex(h, at) {
    const b = hexToBytes(h);
    b[at % b.length] ^= 1;
    return bytesToHex(b);
  }

  function render(el, title, results) {
    const valid = results.every((r) => r.valid);
    el.textContent = '';
    el.dataset.result = valid ? 'valid' : 'invalid';
    el.className = 'verdict ' + (valid ? 'valid' : 'invalid');
    const h = document.createElement('h3');
    h.textContent = (valid ? 'VALID' : 'INVALID') + ' -- ' + title;
    el.appendChild(h);
    const ul = document.createElement('ul');
    for (const r of results) {
      for (const c of r.checks) {
        const li = document.createElement('li');
        li.className = c.ok ? 'ok' : 'bad';
        li.textContent = (c.ok ? '\u2713 ' : '\u2717 ') + c.name + (c.detail ? ' (' + c.detail + ')' : '');
        ul.appendChild(li);
      }
    }
    el.appendChild(ul);
  }

  function note(el, input) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = 'Chain ' + input.chain_id + '; ' + input.validators.length + ' validators from the ' +
      input.validator_source + '.';
    el.appendChild(p);
  }

  async function fetchJson(url) {
    const r = await fetch(url, { credentials: 'same-origin' });
    if (!r.ok) {
      const why = await r.text().catch(() => '');
      throw new Error(why && r.status === 403 ? why : url + ': ' + r.status);
    }
    return r.json();
  }

  async function runBlock(el, tamper) {
    const out = document.getElementById('verify-result');
    out.textContent = 'verifying...';
    out.dataset.result = 'running';
    try {
      const input = await fetchJson('/api/verify/block/' + encodeURIComponent(el.dataset.height));
      if (tamper && input.cert && input.cert.qc && input.cert.qc.signatures.length) {
        input.cert.qc.signatures[0] = flipHex(input.cert.qc.signatures[0], 7);
      }
      const r = await verifyCertificate(input);
      render(out, (tamper ? 'tampered copy of ' : '') + 'commit certificate of block ' + el.dataset.height, [r]);
      note(out, input);
    } catch (e) {
      render(out, 'could not verify', [{ valid: false, checks: [{ name: String(e.message || e), ok: false }] }]);
    }
  }

  async function runDoc(el, tamper) {
    const out = document.getElementById('verify-result');
    out.textContent = 'verifying...';
    out.dataset.result = 'running';
    try {
      const input = await fetchJson('/api/verify/doc/' + encodeURIComponent(el.dataset.kind) + '/' + encodeURIComponent(el.dataset.id));
      if (tamper && input.proof.value_hex) input.proof.value_hex = flipHex(input.proof.value_hex, 3);
      const cert = await verifyCertificate(input.block);
      const root = {
        valid: String(input.block_state_root) === String(input.proof.state_root),
        checks: [{ name: 'proof is against the state root of block ' + input.block.block.height, ok: String(input.block_state_root) === String(input.proof.state_root) }],
      };
      const proof = await verifyProof(input.proof);
      render(out, (tamper ? 'tampered copy of ' : '') + el.dataset.kind + ' ' + el.dataset.id + ' at block ' + input.block.block.height, [cert, root, proof]);
      note(out, input.block);
    } catch (e) {
      render(out, 'could not verify', [{ valid: false, checks: [{ name: String(e.message || e), ok: false }] }]);
    }
  }

  window.LianRongVerify = { hexToBytes, bytesToHex, encodeVote, voteSigningBytes, verifyCertificate, verifyProof, selfTest };

  document.addEventListener('DOMContentLoaded', () => {
    for (const b of document.querySelectorAll('[data-verify-block]')) {
      b.addEventListener('click', () => runBlock(b, b.dataset.tamper === '1'));
    }
    for (const b of document.querySelectorAll('[data-verify-doc]')) {
      b.addEventListener('click', () => runDoc(b, b.dataset.tamper === '1'));
    }
  });
})();
