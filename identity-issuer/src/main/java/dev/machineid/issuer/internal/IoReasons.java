package dev.machineid.issuer.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import javax.net.ssl.SSLException;

/**
 * Turns an I/O failure into a sentence an operator can act on. The JDK's messages are often only
 * a path ({@code NoSuchFileException}) or nothing at all ({@code java.net.http} reports an
 * unresolvable host as a {@code ConnectException} without a message), which says neither what
 * went wrong nor what to change.
 */
public final class IoReasons {
  private IoReasons() {}

  /** Why {@code file} could not be read or written, without repeating the path. */
  public static String file(Path file, IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file (relative paths are resolved against " + Path.of("").toAbsolutePath()
          + ")";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NotDirectoryException) {
      return "a part of the path is not a directory";
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason();
    }
    return e.getMessage() == null || e.getMessage().equals(file.toString())
        ? e.getClass().getSimpleName()
        : e.getMessage();
  }

  /** Why nothing could be exchanged with the issuer at {@code base}, and what to change. */
  public static String connection(URI base, IOException e) {
    String host = base.getHost();
    int port = base.getPort() == -1 ? 443 : base.getPort();
    if (has(e, UnknownHostException.class) || has(e, UnresolvedAddressException.class)) {
      return "the host name '" + host + "' does not resolve here; admin commands use the first of"
          + " host_names in issuer.yaml: put a name that resolves first, or pass --server https://HOST:"
          + port;
    }
    if (has(e, HttpConnectTimeoutException.class)) {
      return "no connection to " + host + ":" + port
          + " within the connect timeout (a firewall, or the wrong address?)";
    }
    if (has(e, HttpTimeoutException.class)) {
      return "the issuer accepted the connection but did not answer in time";
    }
    if (has(e, NoRouteToHostException.class)) {
      return "no route to " + host + " (the wrong address, or a firewall?)";
    }
    if (has(e, SSLException.class)) {
      return "the TLS handshake failed (" + describe(e)
          + "); is this the issuer initialised in this directory?";
    }
    if (has(e, ConnectException.class)) {
      return "nothing accepts connections at " + host + ":" + port
          + " (is `issuer serve` running, and is this its"
          + " address? pass --server to choose another)";
    }
    return describe(e);
  }

  private static boolean has(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null && sb.length() < 300; t = t.getCause()) {
      if (t.getMessage() != null && !sb.toString().contains(t.getMessage())) {
        sb.append(sb.length() == 0 ? "" : ": ").append(t.getMessage());
      }
    }
    return sb.length() == 0 ? e.getClass().getSimpleName() : sb.toString();
  }
}
