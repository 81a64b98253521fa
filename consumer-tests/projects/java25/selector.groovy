// Runs where Temurin 25 is installed (its tests run on it, see the surefire jvm in pom.xml); it is on the
// project's machines and no package manager here can install it: elsewhere the build is skipped and says so.
def java25 = new File('/usr/lib/jvm/temurin-25-jdk-amd64/bin/java')
if (!java25.canExecute()) {
  println "[WARNING] java25 consumer build skipped: no Temurin 25 at ${java25}"
}
return java25.canExecute()
