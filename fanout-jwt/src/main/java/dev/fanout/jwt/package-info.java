/**
 * JWT authentication for fanout, usable by any transport: start at {@link
 * dev.fanout.jwt.JwtAuthenticator#builder()}, and give the result to {@code
 * FanoutNode.builder().authenticator(...)}. {@link dev.fanout.jwt.TokenSources} says where a
 * token may travel (the Bearer header, a cookie for browser pages), {@link
 * dev.fanout.jwt.ScopeClaim} maps verified claims to a principal and its topics (reusable when
 * another library verifies the token), {@link dev.fanout.jwt.JwtRefusal} is the fixed set of
 * refusal reasons, and {@link dev.fanout.jwt.Jwts} mints HS256 tokens and the cookie that
 * carries one. docs/jwt.md describes the checks and the choices.
 */
package dev.fanout.jwt;
