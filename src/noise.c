/* SPDX-License-Identifier: ISC */
/*
 * noise.c: Noise_IK_25519_ChaChaPoly_BLAKE2b (Noise spec rev 34) on
 * libsodium 1.0.18. CipherState is IETF ChaCha20-Poly1305 with a
 * little-endian 64-bit nonce; SymmetricState hashes with BLAKE2b-512 and
 * derives keys with HKDF over a hand-built HMAC-BLAKE2b (libsodium has
 * none); HandshakeState runs only the IK pattern. The caller must have
 * called sodium_init(). Every secret is wiped with sodium_memzero, every
 * length is checked before a message is sliced, and a failure wipes the
 * handshake state (spec section 5).
 */
#include <string.h>

#include <sodium.h>

#include "noise.h"

#define PROTOCOL_NAME "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define BLOCKLEN 128
#define IK_S_LEN (HL_NOISE_DHLEN + HL_NOISE_TAGLEN)

/* Stands in for a NULL pointer with length 0, so libsodium never sees NULL. */
static const uint8_t empty[1];

/* The 96-bit ChaChaPoly nonce: 32 bits of zeros, then n little-endian. */
static void
make_nonce(uint8_t npub[12], uint64_t n)
{
	int i;

	memset(npub, 0, 4);
	for (i = 0; i < 8; i++)
		npub[4 + i] = (uint8_t)(n >> (8 * i));
}

/*
 * ENCRYPT(k, n, ad, in): out gets inlen + 16 bytes. in and out may be the
 * same buffer. No nonce policy here; callers enforce it.
 */
static int
aead_encrypt(const uint8_t k[HL_NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t adlen,
             const uint8_t *in, size_t inlen, uint8_t *out)
{
	uint8_t npub[12];

	make_nonce(npub, n);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, inlen ? in : empty, inlen,
	                                              adlen ? ad : NULL, adlen, NULL, npub, k) != 0)
		return HL_ERR_INVAL;
	return HL_OK;
}

/* DECRYPT(k, n, ad, in): out gets inlen - 16 bytes; inlen >= 16 checked by callers. */
static int
aead_decrypt(const uint8_t k[HL_NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t adlen,
             const uint8_t *in, size_t inlen, uint8_t *out)
{
	uint8_t npub[12];

	make_nonce(npub, n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, inlen, adlen ? ad : NULL,
	                                              adlen, npub, k) != 0)
		return HL_ERR_AUTH;
	return HL_OK;
}

/* CipherState.EncryptWithAd. A key is required: IK never encrypts without one. */
static int
cipher_encrypt_ad(struct hl_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                  size_t inlen, uint8_t *out)
{
	int rc;

	if (!c->has_key)
		return HL_ERR_INVAL;
	if (c->n == UINT64_MAX)
		return HL_ERR_LIMIT;
	rc = aead_encrypt(c->k, c->n, ad, adlen, in, inlen, out);
	if (rc < 0)
		return rc;
	c->n++;
	return HL_OK;
}

/* CipherState.DecryptWithAd; n is advanced only on success. */
static int
cipher_decrypt_ad(struct hl_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                  size_t inlen, uint8_t *out)
{
	int rc;

	if (!c->has_key)
		return HL_ERR_INVAL;
	if (inlen < HL_NOISE_TAGLEN)
		return HL_ERR_PROTO;
	if (c->n == UINT64_MAX)
		return HL_ERR_LIMIT;
	rc = aead_decrypt(c->k, c->n, ad, adlen, in, inlen, out);
	if (rc < 0)
		return rc;
	c->n++;
	return HL_OK;
}

static void
cipher_init_key(struct hl_cipher *c, const uint8_t k[HL_NOISE_KEYLEN])
{
	memcpy(c->k, k, HL_NOISE_KEYLEN);
	c->n = 0;
	c->has_key = true;
}

/* HASH(a || b), BLAKE2b-512. */
static int
hash2(uint8_t out[HL_NOISE_HASHLEN], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	crypto_generichash_state st;
	int rc = HL_ERR_INVAL;

	if (crypto_generichash_init(&st, NULL, 0, HL_NOISE_HASHLEN) != 0)
		goto out;
	if (crypto_generichash_update(&st, alen ? a : empty, alen) != 0)
		goto out;
	if (crypto_generichash_update(&st, blen ? b : empty, blen) != 0)
		goto out;
	if (crypto_generichash_final(&st, out, HL_NOISE_HASHLEN) != 0)
		goto out;
	rc = HL_OK;
out:
	sodium_memzero(&st, sizeof st);
	return rc;
}

/*
 * HMAC-BLAKE2b (RFC 2104, B = 128, L = 64) of d1 || d2. The key is always
 * HASHLEN bytes in Noise (ck or temp_key), so it never needs hashing down.
 */
static int
hmac(uint8_t out[HL_NOISE_HASHLEN], const uint8_t key[HL_NOISE_HASHLEN], const uint8_t *d1,
     size_t l1, const uint8_t *d2, size_t l2)
{
	uint8_t pad[BLOCKLEN], inner[HL_NOISE_HASHLEN];
	crypto_generichash_state st;
	int i, rc = HL_ERR_INVAL;

	memset(pad, 0x36, sizeof pad);
	for (i = 0; i < HL_NOISE_HASHLEN; i++)
		pad[i] ^= key[i];
	if (crypto_generichash_init(&st, NULL, 0, HL_NOISE_HASHLEN) != 0 ||
	    crypto_generichash_update(&st, pad, sizeof pad) != 0 ||
	    crypto_generichash_update(&st, l1 ? d1 : empty, l1) != 0 ||
	    crypto_generichash_update(&st, l2 ? d2 : empty, l2) != 0 ||
	    crypto_generichash_final(&st, inner, sizeof inner) != 0)
		goto out;
	memset(pad, 0x5c, sizeof pad);
	for (i = 0; i < HL_NOISE_HASHLEN; i++)
		pad[i] ^= key[i];
	if (crypto_generichash_init(&st, NULL, 0, HL_NOISE_HASHLEN) != 0 ||
	    crypto_generichash_update(&st, pad, sizeof pad) != 0 ||
	    crypto_generichash_update(&st, inner, sizeof inner) != 0 ||
	    crypto_generichash_final(&st, out, HL_NOISE_HASHLEN) != 0)
		goto out;
	rc = HL_OK;
out:
	sodium_memzero(pad, sizeof pad);
	sodium_memzero(inner, sizeof inner);
	sodium_memzero(&st, sizeof st);
	return rc;
}

/* HKDF(ck, ikm, 2): RFC 5869 with salt ck and empty info. */
static int
hkdf2(const uint8_t ck[HL_NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen,
      uint8_t out1[HL_NOISE_HASHLEN], uint8_t out2[HL_NOISE_HASHLEN])
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t temp[HL_NOISE_HASHLEN];
	int rc;

	rc = hmac(temp, ck, ikm, ikmlen, NULL, 0);
	if (rc == HL_OK)
		rc = hmac(out1, temp, &one, 1, NULL, 0);
	if (rc == HL_OK)
		rc = hmac(out2, temp, out1, HL_NOISE_HASHLEN, &two, 1);
	sodium_memzero(temp, sizeof temp);
	return rc;
}

/* SymmetricState.MixHash: h = HASH(h || data). */
static int
mix_hash(struct hl_noise_hs *hs, const uint8_t *data, size_t len)
{
	uint8_t h[HL_NOISE_HASHLEN];
	int rc;

	rc = hash2(h, hs->h, sizeof hs->h, data, len);
	if (rc == HL_OK)
		memcpy(hs->h, h, sizeof h);
	sodium_memzero(h, sizeof h);
	return rc;
}

/* SymmetricState.MixKey: ck, temp_k = HKDF(ck, ikm, 2); k = temp_k[:32], n = 0. */
static int
mix_key(struct hl_noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t ck[HL_NOISE_HASHLEN], tk[HL_NOISE_HASHLEN];
	int rc;

	rc = hkdf2(hs->ck, ikm, len, ck, tk);
	if (rc == HL_OK) {
		memcpy(hs->ck, ck, sizeof ck);
		cipher_init_key(&hs->cs, tk);
	}
	sodium_memzero(ck, sizeof ck);
	sodium_memzero(tk, sizeof tk);
	return rc;
}

/* SymmetricState.EncryptAndHash: out gets len + 16 bytes. */
static int
encrypt_and_hash(struct hl_noise_hs *hs, const uint8_t *in, size_t len, uint8_t *out)
{
	int rc;

	rc = cipher_encrypt_ad(&hs->cs, hs->h, sizeof hs->h, in, len, out);
	if (rc < 0)
		return rc;
	return mix_hash(hs, out, len + HL_NOISE_TAGLEN);
}

/*
 * SymmetricState.DecryptAndHash: out gets len - 16 bytes. The new h is
 * computed before decrypting, so out may alias in.
 */
static int
decrypt_and_hash(struct hl_noise_hs *hs, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t h[HL_NOISE_HASHLEN];
	int rc;

	rc = hash2(h, hs->h, sizeof hs->h, in, len);
	if (rc == HL_OK)
		rc = cipher_decrypt_ad(&hs->cs, hs->h, sizeof hs->h, in, len, out);
	if (rc == HL_OK)
		memcpy(hs->h, h, sizeof h);
	sodium_memzero(h, sizeof h);
	return rc;
}

/* DH(sk, pk) followed by MixKey; an all-zero (low-order) result fails. */
static int
mix_dh(struct hl_noise_hs *hs, const uint8_t sk[HL_NOISE_DHLEN], const uint8_t pk[HL_NOISE_DHLEN])
{
	uint8_t shared[HL_NOISE_DHLEN];
	int rc;

	if (crypto_scalarmult(shared, sk, pk) != 0) {
		sodium_memzero(shared, sizeof shared);
		return HL_ERR_AUTH;
	}
	rc = mix_key(hs, shared, sizeof shared);
	sodium_memzero(shared, sizeof shared);
	return rc;
}

/* GENERATE_KEYPAIR, or the injected test ephemeral. */
static int
make_ephemeral(struct hl_noise_hs *hs)
{
	if (!hs->fixed_e)
		randombytes_buf(hs->e_sk, sizeof hs->e_sk);
	if (crypto_scalarmult_base(hs->e_pk, hs->e_sk) != 0)
		return HL_ERR_INVAL;
	hs->has_e = true;
	return HL_OK;
}

/*
 * Initialize(): h = protocol name zero-padded to HASHLEN (it is 33 bytes,
 * not more than HASHLEN, so it is not hashed), ck = h, then MixHash of the
 * prologue, even an empty one.
 */
static int
init_common(struct hl_noise_hs *hs, enum hl_noise_role role, const uint8_t *prologue,
            size_t prologue_len, const uint8_t s_sk[static 32])
{
	int rc;

	sodium_memzero(hs, sizeof *hs);
	if (prologue == NULL && prologue_len > 0)
		return HL_ERR_INVAL;
	hs->role = role;
	hs->step = 0;
	memcpy(hs->h, PROTOCOL_NAME, sizeof PROTOCOL_NAME - 1);
	memcpy(hs->ck, hs->h, sizeof hs->ck);
	rc = mix_hash(hs, prologue, prologue_len);
	if (rc < 0)
		return rc;
	memcpy(hs->s_sk, s_sk, HL_NOISE_DHLEN);
	if (crypto_scalarmult_base(hs->s_pk, hs->s_sk) != 0)
		return HL_ERR_INVAL;
	return HL_OK;
}

int
hl_noise_init_initiator(struct hl_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
                        const uint8_t s_sk[static 32], const uint8_t rs[static 32])
{
	int rc;

	rc = init_common(hs, HL_NOISE_INITIATOR, prologue, prologue_len, s_sk);
	if (rc == HL_OK) {
		/* Pre-message <- s: the initiator hashes the pinned rs. */
		memcpy(hs->rs, rs, HL_NOISE_DHLEN);
		hs->has_rs = true;
		rc = mix_hash(hs, hs->rs, sizeof hs->rs);
	}
	if (rc < 0)
		hl_noise_wipe(hs);
	return rc;
}

int
hl_noise_init_responder(struct hl_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
                        const uint8_t s_sk[static 32])
{
	int rc;

	rc = init_common(hs, HL_NOISE_RESPONDER, prologue, prologue_len, s_sk);
	/* Pre-message <- s: the responder hashes its own static public key. */
	if (rc == HL_OK)
		rc = mix_hash(hs, hs->s_pk, sizeof hs->s_pk);
	if (rc < 0)
		hl_noise_wipe(hs);
	return rc;
}

#ifdef HL_TESTING
void
hl_noise_set_ephemeral(struct hl_noise_hs *hs, const uint8_t e_sk[static 32])
{
	memcpy(hs->e_sk, e_sk, HL_NOISE_DHLEN);
	hs->fixed_e = true;
}
#endif

/* -> e, es, s, ss, then the payload. out has room for 96 + len. */
static int
write_msg0(struct hl_noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out)
{
	int rc;

	rc = make_ephemeral(hs);
	if (rc < 0)
		return rc;
	memcpy(out, hs->e_pk, HL_NOISE_DHLEN);
	if ((rc = mix_hash(hs, hs->e_pk, HL_NOISE_DHLEN)) < 0 ||
	    (rc = mix_dh(hs, hs->e_sk, hs->rs)) < 0 ||
	    (rc = encrypt_and_hash(hs, hs->s_pk, HL_NOISE_DHLEN, out + HL_NOISE_DHLEN)) < 0 ||
	    (rc = mix_dh(hs, hs->s_sk, hs->rs)) < 0)
		return rc;
	return encrypt_and_hash(hs, payload, len, out + HL_NOISE_DHLEN + IK_S_LEN);
}

/* <- e, ee, se, then the payload. out has room for 48 + len. */
static int
write_msg1(struct hl_noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out)
{
	int rc;

	rc = make_ephemeral(hs);
	if (rc < 0)
		return rc;
	memcpy(out, hs->e_pk, HL_NOISE_DHLEN);
	if ((rc = mix_hash(hs, hs->e_pk, HL_NOISE_DHLEN)) < 0 ||
	    (rc = mix_dh(hs, hs->e_sk, hs->re)) < 0 || (rc = mix_dh(hs, hs->e_sk, hs->rs)) < 0)
		return rc;
	return encrypt_and_hash(hs, payload, len, out + HL_NOISE_DHLEN);
}

/* Reads -> e, es, s, ss; len >= 96 checked. */
static int
read_msg0(struct hl_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload)
{
	int rc;

	memcpy(hs->re, msg, HL_NOISE_DHLEN);
	if ((rc = mix_hash(hs, hs->re, HL_NOISE_DHLEN)) < 0 ||
	    (rc = mix_dh(hs, hs->s_sk, hs->re)) < 0 ||
	    (rc = decrypt_and_hash(hs, msg + HL_NOISE_DHLEN, IK_S_LEN, hs->rs)) < 0)
		return rc;
	hs->has_rs = true;
	if ((rc = mix_dh(hs, hs->s_sk, hs->rs)) < 0)
		return rc;
	return decrypt_and_hash(hs, msg + HL_NOISE_DHLEN + IK_S_LEN,
	                        len - HL_NOISE_DHLEN - IK_S_LEN, payload);
}

/* Reads <- e, ee, se; len >= 48 checked. */
static int
read_msg1(struct hl_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload)
{
	int rc;

	memcpy(hs->re, msg, HL_NOISE_DHLEN);
	if ((rc = mix_hash(hs, hs->re, HL_NOISE_DHLEN)) < 0 ||
	    (rc = mix_dh(hs, hs->e_sk, hs->re)) < 0 || (rc = mix_dh(hs, hs->s_sk, hs->re)) < 0)
		return rc;
	return decrypt_and_hash(hs, msg + HL_NOISE_DHLEN, len - HL_NOISE_DHLEN, payload);
}

/* Whose turn: initiator writes 0 and reads 1, responder the reverse. */
static bool
my_turn_to_write(const struct hl_noise_hs *hs)
{
	if (hs->role == HL_NOISE_INITIATOR)
		return hs->step == 0 && hs->has_rs;
	if (hs->role == HL_NOISE_RESPONDER)
		return hs->step == 1 && hs->has_rs;
	return false;
}

static bool
my_turn_to_read(const struct hl_noise_hs *hs)
{
	if (hs->role == HL_NOISE_INITIATOR)
		return hs->step == 1 && hs->has_e && hs->has_rs;
	if (hs->role == HL_NOISE_RESPONDER)
		return hs->step == 0 && !hs->has_rs;
	return false;
}

int
hl_noise_write(struct hl_noise_hs *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
               size_t outcap, size_t *outlen)
{
	size_t min;
	int rc;

	*outlen = 0;
	if (!my_turn_to_write(hs) || out == NULL || (payload == NULL && payload_len > 0)) {
		rc = HL_ERR_INVAL;
		goto fail;
	}
	min = hs->step == 0 ? HL_NOISE_IK_MSG0_MIN : HL_NOISE_IK_MSG1_MIN;
	if (payload_len > HL_NOISE_MAXMSG - min) {
		rc = HL_ERR_LIMIT;
		goto fail;
	}
	if (outcap < min + payload_len) {
		rc = HL_ERR_INVAL;
		goto fail;
	}
	if (hs->step == 0)
		rc = write_msg0(hs, payload, payload_len, out);
	else
		rc = write_msg1(hs, payload, payload_len, out);
	if (rc < 0) {
		sodium_memzero(out, min + payload_len); /* no half-written message */
		goto fail;
	}
	*outlen = min + payload_len;
	hs->step++;
	return HL_OK;
fail:
	hl_noise_wipe(hs);
	return rc;
}

int
hl_noise_read(struct hl_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload, size_t cap,
              size_t *payload_len)
{
	uint8_t dummy[1];
	size_t min;
	int rc;

	*payload_len = 0;
	if (!my_turn_to_read(hs) || msg == NULL) {
		rc = HL_ERR_INVAL;
		goto fail;
	}
	min = hs->step == 0 ? HL_NOISE_IK_MSG0_MIN : HL_NOISE_IK_MSG1_MIN;
	if (len < min || len > HL_NOISE_MAXMSG) {
		rc = HL_ERR_PROTO;
		goto fail;
	}
	if (cap < len - min || (payload == NULL && len > min)) {
		rc = HL_ERR_INVAL;
		goto fail;
	}
	if (payload == NULL)
		payload = dummy;
	if (hs->step == 0)
		rc = read_msg0(hs, msg, len, payload);
	else
		rc = read_msg1(hs, msg, len, payload);
	if (rc < 0)
		goto fail;
	*payload_len = len - min;
	hs->step++;
	return HL_OK;
fail:
	hl_noise_wipe(hs);
	return rc;
}

bool
hl_noise_done(const struct hl_noise_hs *hs)
{
	return hs->step == 2;
}

const uint8_t *
hl_noise_remote_static(const struct hl_noise_hs *hs)
{
	return hs->rs;
}

const uint8_t *
hl_noise_handshake_hash(const struct hl_noise_hs *hs)
{
	return hs->h;
}

int
hl_noise_split(struct hl_noise_hs *hs, struct hl_cipher *tx, struct hl_cipher *rx)
{
	uint8_t k1[HL_NOISE_HASHLEN], k2[HL_NOISE_HASHLEN], h[HL_NOISE_HASHLEN];
	enum hl_noise_role role = hs->role;
	int rc;

	sodium_memzero(tx, sizeof *tx);
	sodium_memzero(rx, sizeof *rx);
	if (!hl_noise_done(hs) || !hs->cs.has_key) /* not done, or already split */
		rc = HL_ERR_INVAL;
	else
		rc = hkdf2(hs->ck, NULL, 0, k1, k2);
	if (rc == HL_OK) {
		/* c1 (k1) carries initiator->responder, c2 (k2) the reverse. */
		cipher_init_key(role == HL_NOISE_INITIATOR ? tx : rx, k1);
		cipher_init_key(role == HL_NOISE_INITIATOR ? rx : tx, k2);
		memcpy(h, hs->h, sizeof h);
	}
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);
	hl_noise_wipe(hs);
	if (rc == HL_OK) {
		/* Keep only h (and enough to say the handshake is done). */
		hs->role = role;
		hs->step = 2;
		memcpy(hs->h, h, sizeof h);
	}
	sodium_memzero(h, sizeof h);
	return rc;
}

void
hl_noise_wipe(struct hl_noise_hs *hs)
{
	sodium_memzero(hs, sizeof *hs);
}

int
hl_cipher_encrypt(struct hl_cipher *c, const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
                  size_t *outlen)
{
	int rc;

	*outlen = 0;
	if (out == NULL || (in == NULL && inlen > 0))
		return HL_ERR_INVAL;
	if (inlen > HL_NOISE_MAXMSG - HL_NOISE_TAGLEN)
		return HL_ERR_LIMIT;
	if (outcap < inlen + HL_NOISE_TAGLEN)
		return HL_ERR_INVAL;
	rc = cipher_encrypt_ad(c, NULL, 0, in, inlen, out);
	if (rc < 0)
		return rc;
	*outlen = inlen + HL_NOISE_TAGLEN;
	return HL_OK;
}

int
hl_cipher_decrypt(struct hl_cipher *c, const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
                  size_t *outlen)
{
	uint8_t dummy[1];
	int rc;

	*outlen = 0;
	if (in == NULL)
		return HL_ERR_INVAL;
	if (inlen < HL_NOISE_TAGLEN || inlen > HL_NOISE_MAXMSG)
		return HL_ERR_PROTO;
	if (outcap < inlen - HL_NOISE_TAGLEN || (out == NULL && inlen > HL_NOISE_TAGLEN))
		return HL_ERR_INVAL;
	rc = cipher_decrypt_ad(c, NULL, 0, in, inlen, out ? out : dummy);
	if (rc < 0)
		return rc;
	*outlen = inlen - HL_NOISE_TAGLEN;
	return HL_OK;
}

void
hl_cipher_rekey(struct hl_cipher *c)
{
	static const uint8_t zeros[HL_NOISE_KEYLEN];
	uint8_t out[HL_NOISE_KEYLEN + HL_NOISE_TAGLEN];

	if (!c->has_key)
		return;
	/* Raw ENCRYPT at the reserved nonce 2^64-1, bypassing the n check. */
	if (aead_encrypt(c->k, UINT64_MAX, NULL, 0, zeros, sizeof zeros, out) == HL_OK) {
		memcpy(c->k, out, HL_NOISE_KEYLEN);
	} else {
		/* Fail closed: a cipher that could not rekey is unusable. */
		sodium_memzero(c->k, sizeof c->k);
		c->has_key = false;
	}
	sodium_memzero(out, sizeof out);
}

void
hl_cipher_wipe(struct hl_cipher *c)
{
	sodium_memzero(c, sizeof *c);
}
