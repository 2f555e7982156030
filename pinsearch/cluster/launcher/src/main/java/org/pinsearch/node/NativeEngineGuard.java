package org.pinsearch.node;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.opensearch.action.ActionRequest;
import org.opensearch.action.admin.indices.create.CreateIndexRequest;
import org.opensearch.action.admin.indices.mapping.put.PutMappingRequest;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.action.support.ActionFilterChain;
import org.opensearch.client.Client;
import org.opensearch.cluster.ClusterState;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.env.Environment;
import org.opensearch.env.NodeEnvironment;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.repositories.RepositoriesService;
import org.opensearch.script.ScriptService;
import org.opensearch.tasks.Task;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.watcher.ResourceWatcherService;

/**
 * Refuses k-NN fields that would use the faiss or nmslib engine, with a 400 that says why.
 *
 * The k-NN plugin on Maven Central carries no native libraries. Without this guard such an index
 * is created, and its first refresh throws UnsatisfiedLinkError on a write thread: the request
 * hangs and the shard never recovers. A distribution that ships the libraries serves these
 * engines; this node can only serve {@code engine: lucene}, so it says so up front.
 */
public final class NativeEngineGuard extends Plugin implements ActionPlugin {

    /** The engine k-NN 2.19 uses for a knn_vector with no method or no method engine. */
    static final String DEFAULT_ENGINE = "faiss";

    private volatile ClusterService clusterService;
    private volatile IndexNameExpressionResolver resolver;

    @Override
    public Collection<Object> createComponents(Client client, ClusterService clusterService, ThreadPool threadPool,
                                               ResourceWatcherService resourceWatcherService, ScriptService scriptService,
                                               NamedXContentRegistry xContentRegistry, Environment environment,
                                               NodeEnvironment nodeEnvironment, NamedWriteableRegistry namedWriteableRegistry,
                                               IndexNameExpressionResolver indexNameExpressionResolver,
                                               Supplier<RepositoriesService> repositoriesServiceSupplier) {
        this.clusterService = clusterService;
        this.resolver = indexNameExpressionResolver;
        return List.of();
    }

    @Override
    public List<ActionFilter> getActionFilters() {
        return List.of(new ActionFilter() {
            @Override
            public int order() {
                return Integer.MIN_VALUE;
            }

            @Override
            public <Request extends ActionRequest, Response extends ActionResponse> void apply(
                    Task task, String action, Request request, ActionListener<Response> listener,
                    ActionFilterChain<Request, Response> chain) {
                String problem;
                try {
                    problem = check(request);
                } catch (RuntimeException e) {
                    problem = null;  // an unparsable body: let OpenSearch report it as it always does
                }
                if (problem != null) {
                    listener.onFailure(new IllegalArgumentException(problem));
                    return;
                }
                chain.proceed(task, action, request, listener);
            }
        });
    }

    private String check(ActionRequest request) {
        if (request instanceof CreateIndexRequest) {
            CreateIndexRequest create = (CreateIndexRequest) request;
            if (create.mappings() == null || create.mappings().isEmpty()) {
                return null;
            }
            boolean knnIndex = create.settings().getAsBoolean("index.knn", false);
            return firstNativeField(parse(create.mappings()), knnIndex);
        }
        if (request instanceof PutMappingRequest) {
            PutMappingRequest put = (PutMappingRequest) request;
            if (put.source() == null) {
                return null;
            }
            return firstNativeField(parse(put.source()), targetsKnnIndex(put));
        }
        return null;
    }

    private boolean targetsKnnIndex(PutMappingRequest put) {
        ClusterState state = clusterService.state();
        String[] names = put.getConcreteIndex() != null
            ? new String[] { put.getConcreteIndex().getName() }
            : resolver.concreteIndexNames(state, put);
        for (String name : names) {
            IndexMetadata metadata = state.metadata().index(name);
            if (metadata != null && metadata.getSettings().getAsBoolean("index.knn", false)) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, Object> parse(String json) {
        return XContentHelper.convertToMap(JsonXContent.jsonXContent, json, false);
    }

    /** The first knn_vector field whose engine needs native code, described for the error; else null. */
    @SuppressWarnings("unchecked")
    private static String firstNativeField(Map<String, Object> mapping, boolean knnIndex) {
        if (!knnIndex) {
            return null;  // no graphs are built outside index.knn indices
        }
        Object root = mapping.size() == 1 && mapping.containsKey("_doc") ? mapping.get("_doc") : mapping;
        List<String> found = new ArrayList<>();
        walk((Map<String, Object>) root, "", found);
        if (found.isEmpty()) {
            return null;
        }
        return "knn_vector field [" + found.get(0) + "] uses the k-NN engine [" + found.get(1) + "], whose native "
            + "library is not part of the k-NN plugin published on Maven Central that this node runs; use "
            + "\"method\": {\"engine\": \"lucene\"} (pinsearch reindex --knn-engine lucene), or run a full "
            + "OpenSearch distribution for faiss and nmslib";
    }

    @SuppressWarnings("unchecked")
    private static void walk(Map<String, Object> node, String prefix, List<String> found) {
        Object properties = node.get("properties");
        if (!(properties instanceof Map) || !found.isEmpty()) {
            return;
        }
        for (Map.Entry<String, Object> entry : ((Map<String, Object>) properties).entrySet()) {
            if (!(entry.getValue() instanceof Map)) {
                continue;
            }
            Map<String, Object> field = (Map<String, Object>) entry.getValue();
            String path = prefix.isEmpty() ? entry.getKey() : prefix + "." + entry.getKey();
            if ("knn_vector".equals(field.get("type")) && field.get("model_id") == null) {
                String engine = DEFAULT_ENGINE;
                Object method = field.get("method");
                if (method instanceof Map && ((Map<String, Object>) method).get("engine") != null) {
                    engine = String.valueOf(((Map<String, Object>) method).get("engine"));
                }
                if (!"lucene".equals(engine)) {
                    found.add(path);
                    found.add(engine);
                    return;
                }
            }
            walk(field, path, found);
        }
    }
}
