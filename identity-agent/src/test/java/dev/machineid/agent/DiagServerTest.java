package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The diagnostics listener under hostile clients: slow or idle connections, foreign Host headers. */
class DiagServerTest {
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A connection that sent the start of a request and then nothing. */
  private static Socket idleConnection(int port) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    OutputStream out = s.getOutputStream();
    out.write(
        "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ".getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return s;
  }

  /** The status line's code of one raw request with this Host header. */
  private static int statusWithHost(int port, String host) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      s.getOutputStream()
          .write(("GET /livez HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      return Integer.parseInt(response.substring(9, 12));
    }
  }

  @Test
  void twoIdleConnectionsDoNotBlockLivez() throws Exception {
    try (DiagServer diag = DiagServer.start(
        new InetSocketAddress("127.0.0.1", 0), () -> null, new AgentMetrics(Clock.systemUTC()))) {
      List<Socket> idle = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          idle.add(idleConnection(diag.port()));
        }
        assertThat(get(diag.port(), "/livez").statusCode()).isEqualTo(200);
        assertThat(get(diag.port(), "/readyz").statusCode()).as("starting").isEqualTo(503);
        assertThat(get(diag.port(), "/metrics").statusCode()).isEqualTo(200);
      } finally {
        for (Socket s : idle) {
          s.close();
        }
      }
    }
  }

  @Test
  void manyIdleConnectionsStillLeaveRoomForProbesAndAreCutAtTheRequestTimeLimit() throws Exception {
    try (DiagServer diag = DiagServer.start(
        new InetSocketAddress("127.0.0.1", 0),
        () -> null,
        new AgentMetrics(Clock.systemUTC()),
        Duration.ofSeconds(1))) {
      List<Socket> idle = new ArrayList<>();
      try {
        for (int i = 0; i < 20; i++) {
          idle.add(idleConnection(diag.port()));
        }
        assertThat(get(diag.port(), "/livez").statusCode()).isEqualTo(200);
        // each unfinished request is closed once the limit passes: the read ends (-1 or a reset)
        for (Socket s : idle) {
          s.setSoTimeout(30_000);
          InputStream in = s.getInputStream();
          try {
            byte[] answer = in.readAllBytes();
            assertThat(new String(answer, StandardCharsets.US_ASCII)).doesNotContain("200 OK");
          } catch (SocketTimeoutException e) {
            throw new AssertionError("an unfinished request was kept open for 30 s", e);
          } catch (IOException reset) {
            // closed by the server
          }
        }
      } finally {
        for (Socket s : idle) {
          s.close();
        }
      }
    }
  }

  @Test
  void probesAreAnsweredWithinASecondWhileMoreIdleConnectionsThanTheCapAreHeldAndRenewed()
      throws Exception {
    try (DiagServer diag = DiagServer.start(
        new InetSocketAddress("127.0.0.1", 0), () -> null, new AgentMetrics(Clock.systemUTC()))) {
      HttpClient quick =
          HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
      List<Socket> idle = new ArrayList<>();
      try {
        // plain TCP connects that never send a byte, more than the listener keeps open at once
        for (int i = 0; i < DiagServer.MAX_CONNECTIONS + 36; i++) {
          idle.add(new Socket("127.0.0.1", diag.port()));
        }
        for (int round = 0; round < 5; round++) {
          HttpResponse<String> probe = quick.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + diag.port() + "/livez"))
                  .timeout(Duration.ofSeconds(1))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(probe.statusCode()).as("probe %d", round).isEqualTo(200);
          // the attacker renews: a fresh batch of idle connections between probes
          for (int i = 0; i < 20; i++) {
            idle.add(new Socket("127.0.0.1", diag.port()));
          }
        }
      } finally {
        for (Socket s : idle) {
          s.close();
        }
      }
    }
  }

  @Test
  void anUnexpectedHostHeaderIsRefused() throws Exception {
    try (DiagServer diag = DiagServer.start(
        new InetSocketAddress("127.0.0.1", 0), () -> null, new AgentMetrics(Clock.systemUTC()))) {
      int port = diag.port();
      // a page on another site whose name was rebound to 127.0.0.1 sends its own name
      assertThat(statusWithHost(port, "attacker.example:" + port)).isEqualTo(421);
      assertThat(statusWithHost(port, "attacker.example")).isEqualTo(421);
      // what probes and scrapers send: an address, localhost
      assertThat(statusWithHost(port, "127.0.0.1:" + port)).isEqualTo(200);
      assertThat(statusWithHost(port, "localhost:" + port)).isEqualTo(200);
      assertThat(statusWithHost(port, "[::1]:" + port)).isEqualTo(200);
      assertThat(statusWithHost(port, "10.1.2.3:" + port))
          .as("a pod address, as the kubelet sends")
          .isEqualTo(200);
    }
  }
}
