/* SPDX-License-Identifier: ISC */
/*
 * noise.h: the Noise handshake Noise_IK_25519_ChaChaPoly_BLAKE2b (Noise
 * spec rev 34) and its CipherState, on libsodium. Pure: no I/O, no
 * allocation. Proven against shared/vectors/cacophony.txt by
 * tests/unit/test_noise.c.
 *
 * IK:  <- s
 *      ...
 *      -> e, es, s, ss      (message 0, initiator)
 *      <- e, ee, se         (message 1, responder)
 *
 * Every function returns HL_OK or a negative hl_err; on failure the
 * handshake state is wiped and must not be used again (spec section 5).
 */
#ifndef HL_NOISE_H
#define HL_NOISE_H

#include "hl.h"

#define HL_NOISE_DHLEN 32
#define HL_NOISE_HASHLEN 64
#define HL_NOISE_KEYLEN 32
#define HL_NOISE_TAGLEN 16
#define HL_NOISE_MAXMSG 65535
/* Message sizes of IK with an empty payload. */
#define HL_NOISE_IK_MSG0_MIN (32 + 48 + 16)
#define HL_NOISE_IK_MSG1_MIN (32 + 16)

/* One direction of transport encryption. n never wraps: UINT64_MAX is reserved. */
struct hl_cipher {
	uint8_t k[HL_NOISE_KEYLEN];
	uint64_t n;
	bool has_key;
};

enum hl_noise_role { HL_NOISE_INITIATOR, HL_NOISE_RESPONDER };

struct hl_noise_hs {
	enum hl_noise_role role;
	int step; /* index of the next handshake message, 0..2; 2 = done */
	struct hl_cipher cs;
	uint8_t ck[HL_NOISE_HASHLEN];
	uint8_t h[HL_NOISE_HASHLEN];
	uint8_t s_sk[HL_NOISE_DHLEN], s_pk[HL_NOISE_DHLEN];
	uint8_t e_sk[HL_NOISE_DHLEN], e_pk[HL_NOISE_DHLEN];
	uint8_t rs[HL_NOISE_DHLEN], re[HL_NOISE_DHLEN];
	bool has_rs, has_e, fixed_e;
};

/*
 * Start a handshake. The initiator knows the responder's static public key
 * rs (pinned); the responder learns the initiator's from message 0. The
 * prologue is mixed in even when empty. s_sk is the raw 32-byte X25519
 * secret; it is copied into the state.
 */
HL_MUST_CHECK int hl_noise_init_initiator(struct hl_noise_hs *hs, const uint8_t *prologue,
                                          size_t prologue_len, const uint8_t s_sk[static 32],
                                          const uint8_t rs[static 32]);
HL_MUST_CHECK int hl_noise_init_responder(struct hl_noise_hs *hs, const uint8_t *prologue,
                                          size_t prologue_len, const uint8_t s_sk[static 32]);

/*
 * Test hook only: use this ephemeral secret instead of a random one. Reusing
 * an ephemeral key is catastrophic, so production builds do not have it.
 */
#ifdef HL_TESTING
void hl_noise_set_ephemeral(struct hl_noise_hs *hs, const uint8_t e_sk[static 32]);
#endif

/*
 * Write the next handshake message (payload may be NULL with len 0) into
 * out (capacity outcap, at most HL_NOISE_MAXMSG used). HL_ERR_INVAL when it
 * is not this side's turn or out is too small.
 */
HL_MUST_CHECK int hl_noise_write(struct hl_noise_hs *hs, const uint8_t *payload, size_t payload_len,
                                 uint8_t *out, size_t outcap, size_t *outlen);
/*
 * Read the peer's next handshake message; the decrypted payload goes to
 * payload (capacity cap). HL_ERR_PROTO for a wrong length, HL_ERR_AUTH for a
 * failed decryption or DH. The responder must check hl_noise_remote_static()
 * against its pinned keys after message 0, before trusting the payload.
 */
HL_MUST_CHECK int hl_noise_read(struct hl_noise_hs *hs, const uint8_t *msg, size_t len,
                                uint8_t *payload, size_t cap, size_t *payload_len);

bool hl_noise_done(const struct hl_noise_hs *hs);
/* The peer's static key: valid after message 0 (responder) or from init (initiator). */
const uint8_t *hl_noise_remote_static(const struct hl_noise_hs *hs);
/* h, for channel binding; valid once done. */
const uint8_t *hl_noise_handshake_hash(const struct hl_noise_hs *hs);

/*
 * Split into the two transport ciphers, oriented for this side: tx
 * encrypts what we send, rx decrypts what we receive (c1 carries
 * initiator->responder). Wipes everything in hs except h.
 */
HL_MUST_CHECK int hl_noise_split(struct hl_noise_hs *hs, struct hl_cipher *tx,
                                 struct hl_cipher *rx);
/* Wipe a handshake state (safe to call twice). */
void hl_noise_wipe(struct hl_noise_hs *hs);

/*
 * Transport: AEAD with empty associated data, nonce n then n+1. out needs
 * inlen + 16 (encrypt) or inlen - 16 (decrypt) bytes; in and out may be the
 * same buffer but must not otherwise overlap. A failed decryption leaves n
 * alone and returns HL_ERR_AUTH; a nonce at UINT64_MAX returns HL_ERR_LIMIT.
 */
HL_MUST_CHECK int hl_cipher_encrypt(struct hl_cipher *c, const uint8_t *in, size_t inlen,
                                    uint8_t *out, size_t outcap, size_t *outlen);
HL_MUST_CHECK int hl_cipher_decrypt(struct hl_cipher *c, const uint8_t *in, size_t inlen,
                                    uint8_t *out, size_t outcap, size_t *outlen);
/* Noise REKEY(k) (section 11.3): k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). n unchanged.
 */
void hl_cipher_rekey(struct hl_cipher *c);
void hl_cipher_wipe(struct hl_cipher *c);

#endif
