package dev.machineid.issuer.internal;

import dev.machineid.core.protocol.ErrorCode;
import dev.machineid.core.protocol.Protocol;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty raises itself (an unparseable request line, headers too large, an ambiguous URI)
 * answered as problem documents like every other error.
 */
public final class ProblemErrorHandler extends ErrorHandler {
  @Override
  protected void generateResponse(Request request, Response response, int status, String message, Throwable cause, Callback callback) {
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
