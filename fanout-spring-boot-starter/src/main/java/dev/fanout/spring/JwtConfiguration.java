package dev.fanout.spring;

import dev.fanout.jwt.JwtAlgorithm;
import dev.fanout.jwt.JwtAuthenticator;
import dev.fanout.jwt.ScopeClaim;
import dev.fanout.jwt.TokenSources;
import dev.fanout.protocol.Authenticator;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.NoneNestedConditions;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.jwt.JwtDecoder;

/**
 * JWT authentication when fanout-jwt is on the classpath and the application defines no {@link
 * Authenticator}: a {@link JwtAuthenticator} from {@code fanout.jwt.*} when one of its key
 * sources is set, or else, in an OAuth2 resource server (a {@link JwtDecoder} bean), one that
 * verifies tokens with Spring Security's own decoder: no second configuration of the keys.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = "dev.fanout.jwt.JwtAuthenticator")
class JwtConfiguration {

  @Bean
  @ConditionalOnMissingBean(Authenticator.class)
  @Conditional(KeySourceSet.class)
  JwtAuthenticator fanoutJwtAuthenticator(FanoutProperties props) {
    return authenticator(props.getJwt());
  }

  /** Spring Security's decoder, when the application has one and fanout.jwt names no key. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.security.oauth2.jwt.JwtDecoder")
  @ConditionalOnBean(type = "org.springframework.security.oauth2.jwt.JwtDecoder")
  @Conditional(NoKeySourceSet.class)
  static class Decoder {
    @Bean
    @ConditionalOnMissingBean(Authenticator.class)
    Authenticator fanoutJwtDecoderAuthenticator(JwtDecoder decoder, FanoutProperties props) {
      FanoutProperties.Jwt jwt = props.getJwt();
      return new DecoderAuthenticator(decoder,
          property("fanout.jwt", () -> tokenSources(jwt)),
          property("fanout.jwt.scope-claim", () -> ScopeClaim.named(jwt.getScopeClaim())));
    }
  }

  /** A JwtAuthenticator from fanout.jwt.*; a bad setting fails naming its property. */
  static JwtAuthenticator authenticator(FanoutProperties.Jwt jwt) {
    List<String> keys = jwt.keySourceNames();
    if (keys.size() != 1) {
      throw new IllegalArgumentException("set only one of fanout.jwt.secret, "
          + "fanout.jwt.public-key and fanout.jwt.jwks-url, got " + keys.size() + ": "
          + String.join(", ", keys));
    }
    JwtAuthenticator.Builder b = JwtAuthenticator.builder();
    if (jwt.getSecret() != null) {
      property("fanout.jwt.secret", () -> b.secret(jwt.getSecret()));
    } else if (jwt.getPublicKey() != null) {
      property("fanout.jwt.public-key", () -> b.publicKey(jwt.getPublicKey()));
    } else {
      property("fanout.jwt.jwks-url", () -> b.jwksUrl(jwt.getJwksUrl()));
    }
    if (!jwt.getAlgorithms().isEmpty()) {
      JwtAlgorithm[] pinned = jwt.getAlgorithms().stream().map(JwtConfiguration::algorithm)
          .toArray(JwtAlgorithm[]::new);
      b.algorithms(pinned[0], Arrays.copyOfRange(pinned, 1, pinned.length));
    }
    if (jwt.getIssuer() != null) {
      property("fanout.jwt.issuer", () -> b.issuer(jwt.getIssuer()));
    }
    if (jwt.getAudience() != null) {
      property("fanout.jwt.audience", () -> b.audience(jwt.getAudience()));
    }
    property("fanout.jwt.scope-claim", () -> b.scopeClaim(jwt.getScopeClaim()));
    property("fanout.jwt.clock-skew", () -> b.clockSkew(jwt.getClockSkew()));
    b.tokenSources(property("fanout.jwt", () -> tokenSources(jwt)));
    FanoutProperties.Jwks jwks = jwt.getJwks();
    property("fanout.jwt.jwks.refresh-interval",
        () -> b.jwksRefreshInterval(jwks.getRefreshInterval()));
    property("fanout.jwt.jwks.max-age", () -> b.jwksMaxAge(jwks.getMaxAge()));
    property("fanout.jwt.jwks.wait", () -> b.jwksWait(jwks.getWait()));
    property("fanout.jwt.jwks.timeout", () -> b.jwksTimeout(jwks.getTimeout()));
    return property("fanout.jwt", b::build); // checks the settings together
  }

  static TokenSources tokenSources(FanoutProperties.Jwt jwt) {
    TokenSources sources = TokenSources.defaults();
    sources = jwt.getCookieName().isEmpty() ? sources.noCookie()
        : sources.cookie(jwt.getCookieName());
    if (jwt.getQueryParameter() != null) {
      sources = sources.queryParameter(jwt.getQueryParameter());
    }
    return sources.maxTokenBytes(jwt.getMaxTokenBytes());
  }

  /** The algorithm by its JOSE name, in any case (FanoutProperties.Jwt checked the name). */
  private static JwtAlgorithm algorithm(String name) {
    return Arrays.stream(JwtAlgorithm.values()).filter(a -> a.name().equalsIgnoreCase(name))
        .findFirst().orElseThrow();
  }

  /** Runs a setting; its IllegalArgumentException is rethrown naming the property. */
  private static <T> T property(String name, Supplier<T> setting) {
    try {
      return setting.get();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
    }
  }

  /** One of fanout.jwt.secret, public-key, jwks-url is set. */
  static class KeySourceSet extends AnyNestedCondition {
    KeySourceSet() {
      super(ConfigurationPhase.REGISTER_BEAN);
    }

    @ConditionalOnProperty(prefix = "fanout.jwt", name = "secret")
    static class Secret {}

    @ConditionalOnProperty(prefix = "fanout.jwt", name = "public-key")
    static class PublicKey {}

    @ConditionalOnProperty(prefix = "fanout.jwt", name = "jwks-url")
    static class JwksUrl {}
  }

  /** None of fanout.jwt.secret, public-key, jwks-url is set. */
  static class NoKeySourceSet extends NoneNestedConditions {
    NoKeySourceSet() {
      super(ConfigurationPhase.REGISTER_BEAN);
    }

    @ConditionalOnProperty(prefix = "fanout.jwt", name = "secret")
    static class Secret {}

    @ConditionalOnProperty(prefix = "fanout.jwt", name = "public-key")
    static class PublicKey {}

    @ConditionalOnProperty(prefix = "fanout.jwt", name = "jwks-url")
    static class JwksUrl {}
  }
}
