package dev.machineid.core.tls;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.ssl.SSLSocketFactory;

/**
 * An {@link SSLSocketFactory} that takes every socket from the factory {@link #delegate()} returns
 * at that moment, so a client holding one factory always gets sockets from the newest TLS context.
 * For driver integrations configured by class name (pgjdbc's {@code sslfactory}).
 */
public abstract class DelegatingSslSocketFactory extends SSLSocketFactory {
  /** For subclasses, which supply {@link #delegate()}. */
  protected DelegatingSslSocketFactory() {}

  /** The factory for the next socket; called once per socket. */
  protected abstract SSLSocketFactory delegate();

  @Override
  public String[] getDefaultCipherSuites() {
    return delegate().getDefaultCipherSuites();
  }

  @Override
  public String[] getSupportedCipherSuites() {
    return delegate().getSupportedCipherSuites();
  }

  @Override
  public Socket createSocket() throws IOException {
    return delegate().createSocket();
  }

  @Override
  public Socket createSocket(Socket s, String host, int port, boolean autoClose)
      throws IOException {
    return delegate().createSocket(s, host, port, autoClose);
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return delegate().createSocket(host, port);
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
      throws IOException {
    return delegate().createSocket(host, port, localHost, localPort);
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return delegate().createSocket(host, port);
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
      throws IOException {
    return delegate().createSocket(address, port, localAddress, localPort);
  }
}
