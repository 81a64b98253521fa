package dev.machineid.issuer.internal.http;

import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.Protocol;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty raises itself (an unparseable request line, headers too large, an ambiguous URI)
 * answered as problem documents like every other error, and as 4xx: what Jetty refuses to parse
 * is bad input, never a failure of the issuer.
 */
public final class ProblemErrorHandler extends ErrorHandler {
  @Override
  protected void generateResponse(
      Request request,
      Response response,
      int given,
      String message,
      Throwable cause,
      Callback callback) {
    // A request Jetty cannot parse is the client's fault, whatever status Jetty gives it: an
    // HTTP/0.9 or HTTP/2.0 request line (505), an unknown transfer coding (501).
    int status = given == 505 || given == 501 ? 400 : given;
    if (status != given) {
      response.setStatus(status);
    }
    ErrorCode code = codeFor(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, Protocol.PROBLEM_JSON);
    // Jetty may close the connection after its own errors; say so, so that no client reuses it.
    response.getHeaders().put(HttpHeader.CONNECTION, "close");
    Content.Sink.write(response, true, ApiHandler.problemJson(code, status, null), callback);
  }

  static ErrorCode codeFor(int status) {
    return switch (status) {
      case 404 -> ErrorCode.NOT_FOUND;
      case 405 -> ErrorCode.METHOD_NOT_ALLOWED;
      case 413, 414, 431 -> ErrorCode.REQUEST_TOO_LARGE;
      case 429 -> ErrorCode.RATE_LIMITED;
      default -> status >= 500 ? ErrorCode.INTERNAL : ErrorCode.MALFORMED_REQUEST;
    };
  }
}
