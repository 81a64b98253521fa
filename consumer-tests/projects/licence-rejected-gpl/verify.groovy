def log = new File(basedir, 'build.log').text
assert log.contains('add-third-party') : 'the licence check did not run'
assert log.contains('GPL-3.0-only') && log.contains('consumer.fixture:gpl-library:1') : 'the GPL dependency is not named'
assert log.contains('forbidden licenses') : 'the build did not fail on the licence'
