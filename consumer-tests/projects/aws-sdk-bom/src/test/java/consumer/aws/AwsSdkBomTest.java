package consumer.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.machineid.core.join.JoinMethodProvider;
import dev.machineid.join.aws.IamJoinMethod;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;

class AwsSdkBomTest {
  private static final String VERSION = System.getProperty("aws.sdk.version");

  @Test
  void everyAwsSdkModuleTheJoinMethodsBringIsAtTheApplicationsVersion() throws Exception {
    for (String type : List.of(
        "software.amazon.awssdk.core.SdkBytes",                              // sdk-core
        "software.amazon.awssdk.auth.credentials.AwsCredentialsProvider",    // auth
        "software.amazon.awssdk.regions.Region",                             // regions
        "software.amazon.awssdk.services.sts.StsClient",                     // sts
        "software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient", // url-connection-client
        "software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner")) {     // http-auth-aws
      String jar = Class.forName(type).getProtectionDomain().getCodeSource().getLocation().getPath();
      assertTrue(jar.endsWith("-" + VERSION + ".jar"), type + " comes from " + jar + ", not AWS SDK " + VERSION);
    }
  }

  @Test
  void theJoinMethodsAreFoundAndBuildOnThatVersion() {
    List<String> names = new ArrayList<>();
    ServiceLoader.load(JoinMethodProvider.class).forEach(p -> names.add(p.name()));
    assertTrue(names.containsAll(List.of("iam", "ec2", "token")), "join methods found: " + names);
    IamJoinMethod iam = IamJoinMethod.builder()
        .token("bootstrap-token")
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIDEXAMPLE", "secret")))
        .region(Region.EU_WEST_1)
        .build();
    assertEquals(IamJoinMethod.NAME, iam.name());
  }
}
