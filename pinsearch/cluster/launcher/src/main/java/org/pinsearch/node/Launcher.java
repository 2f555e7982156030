package org.pinsearch.node;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Starts one real OpenSearch node in this JVM with its modules and plugins loaded from the
 * classpath, the way OpenSearch's own integration tests embed nodes. A distribution's launcher
 * would also install a security manager, run the bootstrap checks and check plugin versions
 * (jar hell); none of that changes how requests are parsed or scored, which is what pinsearch
 * compares against, and all of it needs files a Maven artifact does not carry.
 *
 * Usage: Launcher -Ekey=value ... (the settings of opensearch.yml; path.home is required).
 * The process runs until it receives SIGTERM or SIGINT, then closes the node cleanly.
 */
public final class Launcher {

    /** The modules and plugins a pinsearch index needs, as a full distribution would load them. */
    static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4Plugin.class,          // HTTP and transport
        CommonAnalysisPlugin.class,  // analyzers, tokenizers and filters beyond standard
        PainlessPlugin.class,        // scripts
        MapperExtrasPlugin.class,    // rank_feature, rank_features and their queries
        ReindexPlugin.class,         // _delete_by_query, _reindex, _update_by_query
        NativeEngineGuard.class      // a clear 400 for k-NN engines whose native code is absent
    );

    /**
     * Plugins shipped as zips (unpacked onto the classpath by the build), named rather than
     * imported so that a missing one is reported by name instead of failing the compile.
     */
    static final List<String> ZIP_PLUGINS = List.of(
        "org.opensearch.knn.plugin.KNNPlugin"   // knn_vector, knn query, k-NN settings
    );

    static List<Class<? extends Plugin>> plugins() {
        List<Class<? extends Plugin>> plugins = new ArrayList<>(MODULES);
        for (String name : ZIP_PLUGINS) {
            try {
                plugins.add(Class.forName(name).asSubclass(Plugin.class));
            } catch (ClassNotFoundException e) {
                System.err.println("plugin class " + name + " is not on the classpath");
                System.exit(78);
            }
        }
        return plugins;
    }

    /** Node's constructor that takes classpath plugins is protected: this subclass opens it. */
    static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Settings.Builder builder = Settings.builder();
        for (String arg : args) {
            if (!arg.startsWith("-E") || !arg.contains("=")) {
                System.err.println("usage: Launcher -Ekey=value ... (got '" + arg + "')");
                System.exit(64);
            }
            String setting = arg.substring(2);
            int eq = setting.indexOf('=');
            builder.put(setting.substring(0, eq), setting.substring(eq + 1));
        }
        Settings settings = builder.build();
        if (!settings.hasValue("path.home")) {
            System.err.println("path.home is required (-Epath.home=DIR)");
            System.exit(64);
        }
        Path config = Paths.get(settings.get("path.home")).resolve("config");
        Files.createDirectories(config);
        String nodeName = settings.get("node.name", "pinsearch-node");

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(nodeName);
        LogConfigurator.configureWithoutConfig(settings);

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> nodeName);
        Node node = new ClasspathNode(environment, plugins());

        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "pinsearch-node-shutdown"));

        node.start();
        System.out.println("pinsearch-node started: " + nodeName);
        closed.await();
    }
}
