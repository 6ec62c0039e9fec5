/* SPDX-License-Identifier: ISC */
/*
 * content.h: what a message body means, by its media type. Plain text
 * ("" : UTF-8); an attachment (any other type: bytes); a codebook message
 * (HL_CODEBOOK_MEDIA: code and values, rendered by each station in its
 * operators' language, codebook.h); parallel texts (HL_PARALLEL_MEDIA: the
 * same text in English and Chinese, one marked as the original, both
 * covered by the event's hash and so by every signature over it).
 * Bodies from the peer are untrusted: hl_content_check is what the daemon
 * applies before accepting one.
 */
#ifndef HL_CONTENT_H
#define HL_CONTENT_H

#include "codebook.h"
#include "msg.h"

#define HL_PARALLEL_MEDIA "application/vnd.hotline.parallel+json"

/*
 * The body of parallel texts: canonical JSON {"en", "original", "zh"}
 * (sorted keys, compact). original is "en" or "zh". *body is malloc'd.
 * HL_ERR_INVAL with err when a text is empty or not UTF-8.
 */
HL_MUST_CHECK int hl_parallel_encode(const char *en, const char *zh, unsigned original, char **body,
                                     size_t *len, char *err, size_t errcap);
/* Parse one (untrusted): the two texts (malloc'd) and which is the original. */
HL_MUST_CHECK int hl_parallel_decode(const uint8_t *body, size_t len, char **en, char **zh,
                                     unsigned *original);

/*
 * Would this station accept this incoming message's body? reason empty:
 * yes; else why not (a signed refusal quotes it). cb may be NULL (no
 * codebook installed: codebook messages are refused).
 */
void hl_content_check(const struct hl_event *ev, const struct hl_codebook *cb,
                      char reason[static HL_REASON_MAX + 1]);

/*
 * The message as an operator reads it, in lang (HL_LANG_EN, HL_LANG_ZH) or
 * both (lang 2): text as is; a codebook message rendered with its title;
 * parallel texts side by side, the original marked. NULL for an
 * attachment. *out is malloc'd.
 */
#define HL_LANG_BOTH 2
HL_MUST_CHECK int hl_content_render(const struct hl_event *ev, const struct hl_codebook *cb,
                                    unsigned lang, char **out);

#endif
