package io.github.adkgrpcsessions;

import com.fasterxml.jackson.core.Base64Variant;
import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.google.adk.JsonBaseModel;
import java.io.IOException;
import java.util.Base64;

/**
 * The JSON mapper of the wire: ADK Java's own (its naming, its Optional and java.time support,
 * unknown fields ignored), except for bytes, which it writes as ADK Python does (URL-safe base64
 * with padding) and reads in either base64 alphabet, with or without padding, as the contract asks
 * of readers. Integers keep their size (Integer, Long, BigInteger) and floats are Double, so a
 * value read as {@code 1} is written back as {@code 1} and {@code 1.0} as {@code 1.0}.
 */
final class WireJson {
  /** URL-safe base64 with padding, what pydantic (ADK Python) writes. */
  private static final Base64Variant URL_SAFE_PADDED =
      new Base64Variant(Base64Variants.MODIFIED_FOR_URL, "URL-SAFE-PADDED", true, '=', Integer.MAX_VALUE);

  static final ObjectMapper MAPPER = create();

  private WireJson() {}

  private static ObjectMapper create() {
    ObjectMapper mapper = JsonBaseModel.getMapper().copy();
    mapper.setBase64Variant(URL_SAFE_PADDED);
    mapper.enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);
    mapper.disable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    mapper.disable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);
    mapper.registerModule(new SimpleModule("adk-grpc-sessions-bytes").addDeserializer(byte[].class, new AnyBase64()));
    return mapper;
  }

  /** Reads base64 in the standard or the URL-safe alphabet, padded or not. */
  private static final class AnyBase64 extends StdDeserializer<byte[]> {
    private static final long serialVersionUID = 1L;

    AnyBase64() {
      super(byte[].class);
    }

    @Override
    public byte[] deserialize(JsonParser parser, DeserializationContext context) throws IOException {
      if (parser.currentToken() == JsonToken.VALUE_STRING) {
        String text = parser.getText().replace('-', '+').replace('_', '/');
        try {
          return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException malformed) {
          return (byte[]) context.handleWeirdStringValue(byte[].class, parser.getText(), "not base64: %s", malformed.getMessage());
        }
      }
      if (parser.currentToken() == JsonToken.VALUE_EMBEDDED_OBJECT) {
        Object embedded = parser.getEmbeddedObject();
        if (embedded instanceof byte[] bytes) {
          return bytes;
        }
      }
      JsonNode node = context.readTree(parser);
      return (byte[]) context.handleUnexpectedToken(byte[].class, node.asToken(), parser, "expected base64 text");
    }
  }
}
